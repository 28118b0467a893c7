"""Command-line options that several management commands share, written once so that
``stripe_sync`` and ``stripe_verify`` read accounts and keys the same way."""

from __future__ import annotations

from typing import Any


def add_account_arguments(parser: Any) -> None:
    """``--account`` / ``--all-accounts`` (one or the other) and ``--key``."""
    accounts = parser.add_mutually_exclusive_group()
    accounts.add_argument("--account", metavar="ACCT",
                          help="a connected account (acct_...), read with the Stripe-Account header")
    accounts.add_argument("--all-accounts", action="store_true",
                          help="the platform account and every connected account")
    parser.add_argument("--key", metavar="NAME",
                        help='the platform account to read: a name from STRIPE_DJANGO["API_KEYS"] '
                             '(default: STRIPE_DJANGO["API_KEY"])')
