"""One sanitizer for text that reaches a terminal, a report or a spreadsheet from a
submission or a worker (its messages, the names it returns, its file names).

The policy is an allowlist: a character is shown as it is only where Python calls it
printable (letters, marks, digits, punctuation, symbols and the plain space, in any script);
everything else becomes a visible escape. Newlines and tabs are kept only where the caller
says so (a report indents quoted text under its own lines; a CSV cell or a header keeps none).
"""

from __future__ import annotations


def printable(text: str, newlines: bool = True, tabs: bool = True) -> str:
    """`text` (from a worker, or a file name a student chose) safe to print and store: every
    character Python does not call printable becomes a visible escape such as \\x1b or
    \\u2028: controls (terminal escape sequences, carriage returns), format characters
    (Cf: direction controls, zero-width joiners), line and paragraph separators (Zl, Zp,
    which other programs read as line breaks), unpaired surrogates, unassigned code points.
    Undecodable bytes of a file name (os.fsdecode's surrogates) read \\xNN. Newlines (when
    `newlines`) and tabs (when `tabs`) are kept."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        o = ord(ch)
        if ch.isprintable() or (ch == "\n" and newlines) or (ch == "\t" and tabs):
            out.append(ch)
        elif 0xDC80 <= o <= 0xDCFF:  # a byte os.fsdecode could not decode
            out.append(f"\\x{o - 0xDC00:02x}")
        else:
            out.append(ascii(ch)[1:-1])
    return "".join(out)
