"""Development-time generator of the model modules from the installed stripe SDK."""
