"""Real-looking model outputs per model family (see :mod:`emissions.cases`)."""
