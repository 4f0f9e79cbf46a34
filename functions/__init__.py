"""Thin triggers: each decodes its binding, makes one call into `shared/`, and answers."""
