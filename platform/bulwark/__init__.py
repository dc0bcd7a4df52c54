"""The Bulwark Django project: settings, URLs, WSGI entry point."""
