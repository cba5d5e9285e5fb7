"""Who is who: WhatsApp JIDs and displayed numbers turned into the keys accounts are merged on.

A person's key is their phone number in E.164 (`+447700900123`) whenever any artefact gives
it, so that the same person seen on several phones is one account of the case. Otherwise:

- `lid:<id>`: a privacy id (`…@lid`) that no `jid_map` row resolves to a number;
- `jid:<raw>`: any other address (a broadcast list, a bot);
- `name:<scope>:<name>`: a name from a chat export, which carries no ids. Names are contact
  names on the exporting phone, so they are scoped to it (the evidence label);
- `owner:<scope>`: the owner of a seized phone whose own number no artefact states.

Groups: `group:<id>` for a `…@g.us` group, `chat:<scope>:<title>` for an exported chat.
"""

from __future__ import annotations

import phonenumbers

from cairn.messaging.base import Account

USER_SERVER = "s.whatsapp.net"
LEGACY_USER_SERVER = "c.us"
GROUP_SERVER = "g.us"
LID_SERVER = "lid"
# Directional marks that exports put around numbers and names (U+202A…U+202E, U+200E/F,
# U+2066…U+2069): invisible, but they would make two spellings of one number differ.
_INVISIBLE = dict.fromkeys(
    [0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
)


def clean(text: str) -> str:
    """`text` without directional marks and surrounding blanks."""
    return text.translate(_INVISIBLE).strip()


def e164(text: str) -> str | None:
    """The E.164 form of an international number (`+44 7700 900123`, `447700900123`).

    Possible numbers are kept even when not assigned (libphonenumber calls the UK's reserved
    drama range invalid): a seized address book is evidence, whatever the numbering plan says.
    """
    digits = clean(text)
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def split_jid(raw: str) -> tuple[str, str]:
    """(user, server) of `user@server`; a device suffix (`user:12@…`) is dropped."""
    user, _, server = raw.partition("@")
    return user.split(":", 1)[0], server


def group_key(user: str) -> str:
    return f"group:{user}"


def account_for(user: str, server: str) -> Account:
    """The account a JID names. Group JIDs are not accounts: see `group_key`."""
    raw = f"{user}@{server}"
    if server in (USER_SERVER, LEGACY_USER_SERVER) and user.isdigit():
        phone = e164(user)
        if phone is not None:
            return Account(key=phone, phone=phone, jid=raw)
    if server == LID_SERVER:
        return Account(key=f"lid:{user}", lid=raw)
    return Account(key=f"jid:{raw}", jid=raw)


def account_for_jid(raw: str) -> Account:
    return account_for(*split_jid(raw))


def is_group_jid(raw: str) -> bool:
    return split_jid(raw)[1] == GROUP_SERVER


def account_for_name(scope: str, name: str) -> Account:
    """The account behind a name in a chat export: its number when the name is one."""
    shown = clean(name)
    phone = e164(shown) if shown.startswith("+") else None
    if phone is not None:
        return Account(key=phone, phone=phone)
    return Account(key=f"name:{scope}:{shown}", display_name=shown)


def owner_key(scope: str) -> str:
    return f"owner:{scope}"
