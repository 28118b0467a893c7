"""Readable names of generated models: verbose names and reverse accessors.

A model's words come from its class name (``CheckoutSession`` -> checkout session); the
plural changes the last word by English rules. ``type_table.VERBOSE_NAMES`` and
``IRREGULAR_PLURALS`` hold the names these rules get wrong.
"""

from __future__ import annotations

import re

from .. import type_table as table

# "V2" first: the prefix of the models of v2 objects (V2Account -> v2, account).
_WORD = re.compile(r"V2(?=[A-Z])|[A-Z]+(?![a-z])|[A-Z][a-z0-9]*|[a-z0-9]+")


def words(class_name: str) -> list[str]:
    """``ThreeDSecureAuthentication`` -> three, d, secure, authentication."""
    return [w.lower() for w in _WORD.findall(class_name)]


def plural_word(word: str) -> str:
    if word in table.IRREGULAR_PLURALS:
        return table.IRREGULAR_PLURALS[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _plural_words(class_name: str) -> list[str]:
    parts = words(class_name)
    return parts[:-1] + [plural_word(parts[-1])]


def verbose_names(object_name: str, class_name: str) -> tuple[str, str]:
    """(verbose_name, verbose_name_plural), lower case as Django's convention is (the
    admin capitalises the first letter where a name starts a title)."""
    if object_name in table.VERBOSE_NAMES:
        return table.VERBOSE_NAMES[object_name]
    return " ".join(words(class_name)), " ".join(_plural_words(class_name))


def snake(class_name: str) -> str:
    return "_".join(words(class_name))


def plural_snake(class_name: str) -> str:
    """``Invoice`` -> invoices, ``TaxId`` -> tax_ids: the base of a reverse accessor."""
    return "_".join(_plural_words(class_name))


def reverse_name(object_name: str, class_name: str, field: str, target_object: str,
                 target_class: str) -> str:
    """The reverse accessor of ``<class_name>.<field>`` on the referenced model.

    ``invoices`` when the key is named after the type it references (Invoice.customer),
    ``charges_as_on_behalf_of`` otherwise (Charge.on_behalf_of -> Account), unless the
    table names it.
    """
    custom = table.REVERSE_NAMES.get((object_name, field))
    if custom:
        return custom
    roles = {snake(target_class), target_object.rsplit(".", 1)[-1]}
    base = plural_snake(class_name)
    return base if field in roles else f"{base}_as_{field}"
