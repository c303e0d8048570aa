"""The truth: autodiff references, the catalog, input families, kinks, tolerances."""
