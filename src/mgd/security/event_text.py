"""The audit trail in words: each event action as a sentence, and its kinds for the filters, in the reader's
language. ``tests/security/test_event_text.py`` fails for an action recorded anywhere without a sentence."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from mgd.tenants.context import ROLE_NAMES

#: One sentence per action; ``%(name)s`` takes the event's detail of that name, put in words below.
SENTENCES: dict[str, LazyString] = {
    "access_request.submitted": _l("Requested access for a large company"),
    "access_request.approved": _l("Approved an access request"),
    "access_request.rejected": _l("Rejected an access request"),
    "billing.address_changed": _l("Changed the billing address of the account %(account)s"),
    "billing.delivery_changed": _l("Changed how the invoices of the account %(account)s are delivered"),
    "billing.iban_code_sent": _l("Asked for a code to change the bank account of %(account)s"),
    "billing.iban_code_accepted": _l("Confirmed the code to change the bank account of %(account)s"),
    "billing.iban_code_wrong": _l("Typed a wrong code to change the bank account of %(account)s"),
    "billing.iban_code_dead": _l(
        "Typed a code that was no longer valid to change the bank account of %(account)s"
    ),
    "billing.iban_changed": _l("Changed the bank account of %(account)s to %(iban)s"),
    "billing.invoice_resent": _l("Sent the invoice %(invoice)s to %(to)s"),
    "company.invite_domains": _l("Changed the email domains allowed in invitations"),
    "email.code_sent": _l("Asked for a code to change the email"),
    "email.changed": _l("Changed the email from %(previous)s to %(email)s"),
    "help_article.created": _l("Wrote the help article %(slug)s"),
    "help_article.changed": _l("Changed the help article %(slug)s (%(fields)s)"),
    "help_article.published": _l("Published the help article %(slug)s"),
    "help_article.withdrawn": _l("Withdrew the help article %(slug)s"),
    "invitation.sent": _l("Invited %(email)s"),
    "invitation.resent": _l("Sent the invitation to %(email)s again"),
    "invitation.revoked": _l("Cancelled the invitation to %(email)s"),
    "invitation.accepted": _l("Accepted the invitation"),
    "line.updated": _l("Changed the line %(line)s"),
    "line.puk_viewed": _l("Saw the PUK of the SIM of the line %(line)s"),
    "lines.bulk_assigned": _l("Assigned lines from a CSV file (%(lines)s lines)"),
    "login.code_sent": _l("Asked for a sign-in code (%(channel)s)"),
    "login.code_refused": _l("Typed a wrong sign-in code"),
    "login.failed": _l("Could not sign in: %(reason)s"),
    "login.locked": _l("The account was locked for %(minutes)s minutes after failed attempts"),
    "login.refused_locked": _l("Tried to sign in while the account was locked"),
    "login.succeeded": _l("Signed in (%(channel)s)"),
    "member.role_changed": _l("Changed the role of %(member)s from %(previous)s to %(role)s"),
    "member.limited": _l("Changed the lines %(member)s can see"),
    "member.disabled": _l("Suspended the access of %(member)s"),
    "member.enabled": _l("Restored the access of %(member)s"),
    "member.removed": _l("Removed %(member)s from the company"),
    "member.password_reset": _l("Gave %(member)s a new temporary password"),
    "member.second_factor_reset": _l("Removed the authenticator app of %(member)s"),
    "mobile.code_sent": _l("Asked for a code to confirm a mobile"),
    "mobile.code_accepted": _l("Confirmed a new mobile"),
    "mobile.code_wrong": _l("Typed a wrong code to confirm a mobile"),
    "mobile.code_dead": _l("Typed a code to confirm a mobile that was no longer valid"),
    "order.placed": _l("Placed the order %(order)s (%(lines)s lines)"),
    "order.approved": _l("Approved the order %(order)s"),
    "order.declined": _l("Declined the order %(order)s"),
    "order.cancelled": _l("Cancelled the order %(order)s"),
    "order.completed": _l("The order %(order)s was completed"),
    "order.approval_threshold": _l(
        "Changed the monthly cost above which orders need approval from %(previous)s to %(threshold)s"
    ),
    "password.changed": _l("Changed the password"),
    "password.change_refused": _l("Chose a password that is not allowed"),
    "password.reset_requested": _l("Asked to choose a new password"),
    "password.reset": _l("Chose a new password after forgetting it"),
    "reauth.succeeded": _l("Confirmed the password before a sensitive change"),
    "registration.chat_rate_limited": _l("Too many messages in the help chat of the registration pages"),
    "registration.code_resent": _l("Asked for a new registration code"),
    "registration.completed": _l("Registered the company"),
    "registration.locked": _l("The registration was locked: %(reason)s"),
    "registration.rate_limited": _l("Too many registration attempts"),
    "registration.refused": _l("The registration was refused: %(reason)s"),
    "session.ended": _l("Closed a session"),
    "session.ended_others": _l("Closed every other session"),
    "usage_alert.created": _l("Created an alert at %(threshold)s of %(metric)s for %(target)s"),
    "usage_alert.changed": _l("Changed the alert at %(threshold)s of %(metric)s for %(target)s"),
    "usage_alert.deleted": _l("Deleted the alert at %(threshold)s of %(metric)s for %(target)s"),
    "usage_alert.fired": _l("The alert at %(threshold)s of %(metric)s for %(target)s was reached"),
    "usage_cap.recorded": _l(
        "Recorded a request to bar premium-rate and roaming usage of %(target)s (spend cap %(threshold)s)"
    ),
    "sms.batch_sent": _l("Sent an SMS from the line %(line)s to %(recipients)s numbers"),
    "terms.accepted": _l("Accepted the terms of use"),
    "totp.enrolled": _l("Added an authenticator app"),
    "totp.removed": _l("Removed the authenticator app"),
}

#: The kinds of event the filters offer: the beginning of their actions, and their names.
KINDS: dict[str, LazyString] = {
    "login.": _l("Sign-ins"),
    "password.": _l("Passwords"),
    "member.": _l("Changes to users"),
    "invitation.": _l("Invitations"),
    "line": _l("Lines"),
    "email.": _l("Email changes"),
    "mobile.": _l("Mobile changes"),
    "totp.": _l("Authenticator apps"),
    "session.": _l("Sessions"),
    "registration.": _l("Registration"),
    "access_request.": _l("Access requests"),
    "billing.": _l("Billing"),
    "usage_": _l("Consumption alerts"),
    "help_article.": _l("Help centre"),
    "sms.": _l("SMS sent from the web"),
    "order.": _l("Orders"),
}

METRICS = {
    "data_percent": _l("data"),
    "voice_percent": _l("call minutes"),
    "spend": _l("spend not yet invoiced"),
}
CHANNELS = {"sms": _l("by SMS"), "email": _l("by email"), "app": _l("authenticator app")}
REASONS = {
    "wrong_password": _l("wrong password"),
    "unknown_email": _l("unknown email"),
    "unknown_mobile": _l("unknown mobile number"),
    "shared_mobile": _l("a mobile number several users share"),
    "temporary_password_expired": _l("the temporary password had expired"),
    "wrong_phones": _l("wrong phone numbers"),
    "wrong_ibans": _l("wrong bank accounts"),
    "codes_exhausted": _l("no codes left"),
    "wrong_phone": _l("a phone that is not the company's"),
    "wrong_iban": _l("a wrong bank account"),
    "unknown_company": _l("unknown company"),
    "not_interlocutor": _l("the email is not the company's contact"),
    "already_user": _l("the email already has an account"),
    "wrong_code": _l("wrong code"),
    "expired_code": _l("expired code"),
}


class _Words(dict):
    """An event's detail put in words; a detail the event does not have reads as a dash."""

    def __missing__(self, key: str) -> str:
        return "—"


def sentence(action: str, detail: dict) -> str:
    """The event as a sentence in the current language (the action itself if it has none)."""
    text = SENTENCES.get(action)
    if text is None:
        return action
    words = _Words({key: value for key, value in detail.items() if value is not None})
    for key, table in (("channel", CHANNELS), ("reason", REASONS), ("metric", METRICS)):
        if key in words:
            words[key] = str(table.get(words[key], words[key]))
    for key in ("role", "previous"):
        if words.get(key) in ROLE_NAMES:
            words[key] = str(ROLE_NAMES[words[key]])
    return str(text) % words


def kinds() -> list[tuple[str, str]]:
    """The filter's choices: (action prefix, name in the current language)."""
    return [(prefix, str(name)) for prefix, name in KINDS.items()]
