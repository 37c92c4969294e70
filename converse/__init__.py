"""Scripted conversations: YAML scripts of chat turns with expectations, run against a live
dealagent server over its WebSocket and REST APIs (`dealagent converse`)."""
