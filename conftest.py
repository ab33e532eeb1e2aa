"""pytest's configuration for the whole repository: nbval's run of each lab also checks its
exercises (tools/nbval_exercises.py)."""
pytest_plugins = ["tools.nbval_exercises"]
