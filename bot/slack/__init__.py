"""The Slack side: app factory, listeners grouped by Slack feature, Block Kit builders."""
