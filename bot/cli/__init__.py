"""The ``scanbot`` command line: commands, their help texts, and the terminal view."""
