"""Style guides for prompts: a rule engine after Vale's, a shipped default guide, offline.

This package imports neither the database nor the web framework: the server (on
publish, on translations, ``POST /v1/lint``), ``registry lint`` and the SDK all run it.

Linting
=======

::

    from registry.style import LintInput, default_guide, lint

    findings = lint(
        LintInput(
            template="Hello {{ name }}, TODO: add the tone.",
            messages=None,                   # or [("system", "..."), ("user", "...")]
            variables=[{"name": "name", "type": "string"}],
            locale="en",                     # the text's locale
            localized=False,                 # True: the prompt will be translated
        ),
        default_guide(),
    )
    # [Finding(rule='prompt.leftover-notes', level='error', line=1, column=19, ...)]

A :class:`Finding` has the rule id, the level (``suggestion``, ``warning``, ``error``),
the message in the current locale (see below), the span (1-based ``line``/``column`` to
``end_line``/``end_column``, exclusive, counted in code points in the template source of
its unit), the matched text, the ``fix`` (the replacement text, ``""`` to delete, None
when there is none), a link, and for chat prompts the message index (``unit``) and
``role``. ``dataclasses.asdict`` makes it JSON. Findings come sorted by unit, line and
column. Prompt-wide findings (an unused variable, a size budget, the language) sit at
line 1, column 1 of the first message, with an empty span.

Wording rules read the prose only: ``{{ … }}``, ``{% … %}`` and ``{# … #}`` are masked
(same length, so positions stay right) and a word never runs across them. Secrets and
invisible characters are looked for everywhere, Jinja included. A template that does
not compile is reported as ``style.template`` (error).

Scopes
------

As in Vale, a rule reads *scopes* of the text (:mod:`registry.style.text`), and what it
does not read is masked:

- ``prose``: the running text outside the scopes below;
- ``heading``: Markdown headings (``# …``);
- ``quote``: block quotes (``> …``) and text in double quotes within a line (``"…"``,
  ``“…”``, ``«…»``, ``„…“``): quoted examples, lyrics, answers, JSON strings;
- ``code``: fenced code blocks (```` ``` ```` or ``~~~``) and inline code (`` `…` ``);
- ``name``: proper names and titles: a capitalized word that does not open its sentence
  ("ask the Chairman", "use Postman"), and capitalized words joined by a space, ``/``
  or ``-`` ("Bora Bora", "Postman/Newman"); none in German, whose nouns are all
  capitalized.

A rule's ``scope`` lists chat roles and these scopes together (``scope: [system,
prose]``); without a text scope a rule reads its kind's default: ``prose``, ``heading``
and ``name`` for ``existence``, ``occurrence``, ``consistency``, ``conditional``,
``capitalization`` and ``metric``; ``prose`` and ``heading`` for ``substitution`` (a
fix is a suggestion a person applies, never to a name or a title) and ``repetition``
(a reduplicated name is no repetition, nor is a word at a line's end and the start of
the next). Quotes and code are never read unless named. The built-in checks:
``secrets``, ``invisible``, ``size``, ``variables``, ``user-input`` and ``language``
read everything; ``leftover-notes``, ``contradictions`` and ``generic-pronouns`` read
``prose``, ``heading`` and ``name``; ``duplicates`` reads ``prose`` and ``name`` and
leaves table rows out.

Silencing
---------

``{# style: off clarity.vague #} … {# style: on #}`` silences one rule (several, comma or
space separated; none named: every rule) from the comment to the matching ``on`` or
the end of the message. Each ``off`` is itself reported as a ``style.silenced``
suggestion, so reviewers see it; a name that is no rule of the guide is reported as
``style.unknown-rule``. Put the comment first to silence a prompt-wide finding.

Writing a guide
===============

A guide is YAML: one file, or a folder whose ``*.yaml`` files are merged (a rule may be
defined in one file only). :func:`load_guide` takes YAML text, a path, or a mapping;
:class:`GuideError` lists every problem as ``(path, message)``, e.g.
``("rules.house.product.level", "must be one of: suggestion, warning, error")``.

.. code-block:: yaml

    name: support
    extends: default                # the shipped guide; other names: load_guide(resolver=...)
    rules:
      house.product-name:           # lower-case letters, digits, '.', '_', '-'
        kind: substitution
        level: error
        message: 'write "{fix}", not "{match}"'
        link: https://wiki.example.com/style#names
        ignorecase: true
        swap: {acme cloud: Acme Cloud, e-mail: email}
      house.one-important:
        kind: occurrence
        level: warning
        token: IMPORTANT
        max: 1
      house.long-sentences:
        kind: metric
        level: suggestion
        formula: words / sentences > 25
        message: 'sentences average {value} words; aim for 20'
      house.system-tone:
        kind: existence
        scope: system               # system (and developer), user, assistant, text, any
        tokens: ['please kindly']
    overrides:
      clarity.vague: off            # or {level: ..., scope: ..., link: ..., message: ...}
      prompt.size: {params: {max_tokens: 16000}}
    locales:
      de:                           # de, de_AT, de_CH… (CLDR fallback chain)
        rules: {...}
        overrides: {...}

The kinds (fields besides ``kind``, ``level`` — warning unless given — ``message``,
``link``, ``scope``, ``when: localized`` and ``description``):

- ``existence``: ``tokens`` (word-bounded regexes; a space matches any whitespace) or
  ``raw`` (a regex; a list is joined), ``ignorecase``, ``nonword``, ``exceptions``
  (regexes a match must not equal), ``fix``. Message fields: ``{match}``.
- ``substitution``: ``swap: {wrong: right}``; the fix is ``right`` in the case of the
  match (``Chairman`` → ``Chair``) unless ``right`` has capitals; an entry mapped to
  itself keeps a phrase whole (``lame duck: lame duck`` stops ``lame`` inside it).
  ``inflect: en`` or ``de`` generates each entry's inflected forms with their fixes
  (:mod:`registry.style.inflection`: ``mailman: mail carrier`` also catches mailmen →
  mail carriers; ``Entwickler: Entwickelnde`` catches ``den Entwicklern``);
  ``skip_after_names: true`` leaves a match right after a name alone ("the Hollywood
  blacklist"). ``{match}``, ``{fix}``.
- ``occurrence``: ``token``, ``min`` and/or ``max``, counted over the prompt.
  ``{match}``, ``{count}``, ``{min}``, ``{max}``.
- ``repetition``: the same word twice in a row (``tokens`` narrows what a word is).
- ``consistency``: ``either: {e-mail: email}``; the form used second is flagged.
  ``{match}``, ``{other}``.
- ``conditional``: ``first`` and ``second`` regexes; each ``first`` match (its group 1,
  if any) must be among the ``second`` matches' (e.g. an acronym spelled out once).
- ``capitalization``: ``match: title|sentence|lower|upper`` or a regex, for Markdown
  headings, or for ``tokens`` matches; ``exceptions`` are words kept as written.
- ``metric``: ``formula`` over ``words``, ``sentences``, ``characters``,
  ``paragraphs``, ``lines`` and ``tokens`` with a comparison (or Vale's separate
  ``condition: "> 25"``), ``per: prompt|message``. Only numbers, those names,
  ``+ - * / // %``, comparisons, ``and``/``or``/``not`` are accepted: the formula is
  parsed into a tree of closures, never evaluated as Python. ``{formula}``, ``{value}``.
- ``builtin``: ``check: <name>`` and ``params`` (:mod:`registry.style.builtin`):
  ``variables``, ``size``, ``secrets``, ``invisible``, ``user-input``,
  ``contradictions``, ``duplicates``, ``generic-pronouns``, ``language``.

Patterns
--------

Every regex a guide gives (``tokens``, ``raw``, ``exceptions``, ``swap`` keys,
``either``, ``first``/``second``, a ``match`` pattern, and the ``allow``, ``names``,
``descriptions``, ``always``/``never`` and ``nouns`` params) is `RE2 syntax
<https://github.com/google/re2/wiki/Syntax>`_, as Vale's are Go's: RE2 matches in time
linear in the text whatever the pattern, so ``(a+)+$`` costs what ``a+`` does. As in Go,
``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII only: write ``\\pL`` (any letter),
``\\p{Lu}``, ``\\p{Han}``, ``[\\pL\\pN_]`` for the letters of every script. The word
bounds that ``tokens`` get are not ``\\b`` but any letter, mark, digit or ``_`` of any
script. Refused when the guide is loaded (so a ``PUT /v1/style-guides/{name}`` answers
422 with the rule, the key and why): lookahead and lookbehind (``(?=``, ``(?!``,
``(?<=``, ``(?<!``; match the text around, or list what to skip under ``exceptions``),
backreferences (``\\1``, ``(?P=name)``), atomic groups and possessive quantifiers,
``\\Z`` (write ``\\z``), ``(?x)``, a repetition count over 1000, a pattern that needs more
than 8 MB compiled, and a guide whose patterns together (with the stored guides it
extends) pass 200 patterns or 400,000 RE2 instructions (the default guide has 29 of
about 50,000). ``contradictions`` takes ``max_words`` up to 64 and
``generic-pronouns`` a ``window`` up to 2,000 characters.

Rules are compiled when the guide is loaded; the selection for a locale is made once
and cached. A :class:`StyleGuide` is immutable and shared by all threads.

The default guide
=================

``registry/style/guides/default/``; ``prompt.*`` run in every locale, the rest in
English (``locales.en``) and, as smaller sets, German, French, Spanish and Japanese
(``locales.de``, ``fr``, ``es``, ``ja``):

=================================  ==========  ==========================================
rule                               level       checks
=================================  ==========  ==========================================
prompt.variables                   error       declared but unused / used but undeclared
prompt.size                        error       32,000 characters and 8,000 tokens per
                                               prompt, 24,000 and 6,000 per chat message;
                                               a warning from 80% (``warn_at``)
prompt.secrets                     error       OpenAI, Anthropic, AWS, GitHub, Slack,
                                               Stripe and Google key shapes, JWTs, private
                                               keys, a literal assigned to a secret name
                                               (``password = "…"``, not ``os.getenv(…)``,
                                               ``process.env.X`` or a placeholder),
                                               passwords in URLs, random values (Shannon
                                               entropy ≥ 4.0 bits/char over 20+
                                               characters, hex ≥ 3.0 over 32+) of a
                                               token, key or credential, or after Bearer
prompt.invisible-characters        error       zero-width, bidi controls, tag characters,
                                               C0/C1 controls; the fix deletes them;
                                               direction marks (U+200E, U+200F, U+061C)
                                               on a line of right-to-left text are
                                               allowed
prompt.user-input-in-system        warning     a user-input variable in a system message
prompt.leftover-notes              error       ``TODO:``, ``FIXME(ann):``, ``XXX:``,
                                               ``TBD:``; a marker alone on its line or
                                               opening a comment; FIXME anywhere; not
                                               the word ("a todo app", "status: TODO")
prompt.duplicate-instructions      warning     the same sentence (4+ words) again: once
                                               per sentence, a repeated run of sentences
                                               as one finding; not a refrain given 3+
                                               times, nor a changelog's entries
prompt.language                    warning     the prose is not in the locale's language;
                                               the locale's own wording rules then leave
                                               the text alone
prompt.contradictions              warning     "always X" and "never/do not X" (en, de,
                                               fr, es)
inclusive.gendered-nouns           warning     chairman → chair, mailmen → mail carriers,
                                               Entwickler → Entwickelnde, les employés →
                                               le personnel, los clientes → la clientela
                                               (en, de, fr, es)
inclusive.gendered-pronouns (en)   warning     he or she, his/her → they, their
inclusive.generic-pronouns (en)    warning     "the user … he", "someone … his" → they
inclusive.ableist (en)             warning     sanity check, crazy, stupid, "so OCD"…
inclusive.exclusionary-terms (en)  warning     blacklist, whitelist, master branch,
                                               master/slave…
clarity.vague                      suggestion  hedges: might want to, kind of, more or
                                               less… (en; de, fr, es, ja have theirs)
clarity.repeated-words (en)        warning     "the the"
localization.idioms (en, de)       suggestion  idioms, slang, culture-bound references;
                                               only for prompts with ``localized=True``
=================================  ==========  ==========================================

Decisions:

- A variable carries **user input** when its name is one (``user_input``, ``input``,
  ``query``, ``question``, ``message``, ``request``, ``text``, ``content``,
  ``comment``, ``feedback``, ``review``, ``search``, ``utterance``, ``conversation``,
  ``chat_history``, ``user_*``, ``*_input``, ``*_query``, ``*_question``,
  ``*_message``, …) or when its declared description says so ("user-provided", "typed
  by the user", "from the customer", "free text", "untrusted"); a variable declared
  with a type other than string never does, and ``params.trusted`` lists exceptions.
- **Secrets** are reported with the secret cut to a few characters (``sk-pro…``), in
  the match and in the message: findings are stored with versions and printed by CI.
- **Generic pronouns**: a he/she/him/his/her within 150 characters after "the/a/each
  user" (customer, student… see ``params.nouns``) or "someone", "anyone"…
  (``params.anyone``) in the same paragraph, unless the pronoun speaks of a person the
  prompt names or describes: "Maria is the manager", "the user Tom", a gendered noun
  or a name in between ("a man walks in … he", "tell John his order shipped"), or a
  gendered person earlier in the prompt ("a woman at a café; someone behind her").
- **Inclusive terms** are warnings, never errors: each has a literal, historical or
  idiomatic use. Names and titles are not read (the ``name`` and ``quote`` scopes);
  "slave" and "master" only in their computing senses ("master branch", "slave node");
  ableist words only in figurative uses ("go nuts", "so OCD", not "nuts and bolts" or
  "patients with OCD"). German role nouns are a list of role stems whose forms are
  generated, so Computer or Drucker never match; "ein Entwickler" and "als Entwickler"
  (a role given to the model) are left alone. Japanese vague phrases match without word
  bounds (Japanese has no spaces); Japanese has no contradiction check, as a negation
  is a verb ending, and no term lists, as no maintained source of them is known.
- **Language**: detected with py3langid (its model ships in the wheel) on a sample of
  the prose (start, middle, end; code blocks, URLs and Jinja left out); prompts under 8
  words are not judged, nor is a detection under 0.9 confidence; languages langid mixes
  up (nb/no/nn/da, hr/sr/bs, id/ms) count as one.

Token counting
==============

Budgets count tokens with a :class:`TokenCounter` (anything with ``count(text) ->
int``), passed as ``lint(..., token_counter=...)``. The default,
:class:`EstimatingTokenCounter`, needs no download: it prices the pieces of GPT's
pre-tokenization (see :mod:`registry.style.tokens`) with costs fitted to OpenAI's
``cl100k_base``. Measured against real BPE counts from the ``bpe-openai`` package
(which embeds OpenAI's vocabularies, so it runs offline), on 590 held-out documents of
up to 3,000 characters (the fit used 589 others): Python's standard-library
docstrings, the UI strings of this machine's Debian packages in ten languages with
their English originals, this repository's catalogs and demo prompts, Python code:

=================================  =====================  =====================
text                               vs cl100k_base         vs o200k_base
                                   bias / mean abs. error bias / mean abs. error
=================================  =====================  =====================
English                            +7.7% / 8.1%           +7.6% / 7.9%
German, French, Spanish, Portug.   -1.4% / 5.6%           +9.9% / 10.6%
Italian                            -13.0% / 13.0%         -6.4% / 7.0%
Russian                            -1.5% / 3.0%           +37% / 37%
Chinese, Japanese, Korean          -0.8% / 4.2%           +24% / 25%
Python code                        +6.1% / 6.1%           +5.5% / 5.5%
=================================  =====================  =====================

So the estimate errs on the high side for English and for newer tokenizers, which is
the safe side for a budget; the 4 KB benchmark prompt is estimated at 941 tokens,
880 with cl100k_base (+6.9%). ``python -m bench.lint`` prints that comparison when
``bpe-openai`` is installed. Other vendors' tokenizers are not public; pass a counter.

Messages in the caller's language
=================================

Findings' messages use the gettext domain ``style`` (``locales/style.pot`` and
``locales/<lang>/LC_MESSAGES/style.po``), translated into the current request locale
(:func:`registry.locales.messages.use_locale`; ``Accept-Language`` in the API). The
messages of the engine and of the shipped guide are translated; a message written in
a user's guide is shown as written. ``make style-messages`` extracts them (code marked
with :func:`registry.style.i18n.mark`, and the guide's YAML) and updates the catalogs;
``tests/style/test_style_catalogs.py`` fails until every catalog translates them all.

Speed
=====

``python -m bench.lint`` (a clean 4 KB system prompt, the default guide, this shared
2-core machine): 2.3-3.8 ms per lint across runs, 40-65 times one ``re.findall`` of one
pattern over the same text; the guide's patterns on RE2 made it about a sixth faster than
on Python's ``re`` (2.3 against 2.8 ms, measured side by side). Jinja's parse and compile
of a template it has not seen adds 2-4 ms; publishing pays that when it validates the
template, before it lints, and the analysis is cached by content, so the lint reuses it.
Rules are compiled once per guide (50-85 ms for the default guide); the first lint of a
process loads the language model (about half a second).
"""

from registry.style.engine import lint
from registry.style.findings import Finding, GuideError, Level, LintInput
from registry.style.guide import StyleGuide, default_guide, load_guide
from registry.style.tokens import EstimatingTokenCounter, TokenCounter, default_token_counter

__all__ = [
    "EstimatingTokenCounter",
    "Finding",
    "GuideError",
    "Level",
    "LintInput",
    "StyleGuide",
    "TokenCounter",
    "default_guide",
    "default_token_counter",
    "lint",
    "load_guide",
]
