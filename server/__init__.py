"""The HTTP application and the command line of karabakh-kg."""
