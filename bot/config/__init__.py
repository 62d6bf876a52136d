"""Configuration: the one :class:`~bot.config.settings.Settings` object, read from the
environment and passed down."""
