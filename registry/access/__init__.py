"""Who may do what: API keys and roles, protected labels, and the audit trail.

Every request but ``/healthz``, ``/readyz`` and the API's own documentation carries
``Authorization: Bearer <key>``. A key has one role; each role includes the one before:

=========== ==============================================================
reader      read, resolve, render, lint
translator  + write translations, only in the locales listed on the key
editor      + create prompts, publish versions, move unprotected labels,
              archive, translate any locale
reviewer    + approve or reject translations, move protected labels
admin       + keys, style guides, bindings, label policies, audit, backup
=========== ==============================================================

A key may be limited to a folder (``support/``); admin keys never are.
Each route declares the permission it needs with :func:`registry.dependencies.requires`;
a test fails when a route declares none.
"""
