"""The ``infercarbon`` command line (typer + rich).  The only layer that reads the environment."""
