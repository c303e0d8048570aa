"""Grading submissions: a sandboxed worker evaluates, this process judges."""
