"""The web console: the registry's people work in their browser, in their language.

Server-rendered pages under ``/console`` over the same services and permission checks as
the API (``router.py`` puts them together; ``auth.py`` signs in with an API key;
``views.py`` renders templates and errors; ``pages/`` holds one module per area).
"""
