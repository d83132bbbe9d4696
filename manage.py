#!/usr/bin/env python
"""Django's command-line utility for erkweb."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erkweb.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        # Loading the settings reads the environment: a bad variable is one line, not a traceback.
        _ = settings.INSTALLED_APPS
    except ImproperlyConfigured as exc:
        sys.exit(f"erkweb: {exc}")

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
