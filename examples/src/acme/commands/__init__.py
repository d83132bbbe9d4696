"""Click commands. One module per top-level command or group."""
