"""One-time codes travel through the outbox encrypted: nobody who reads the database sees them, and the
message delivered still carries them."""

import json
import re

import pytest

from mgd.notify.tasks import deliver_message
from tests.factories import PASSWORD
from tests.kit import outbox, post, stored_text


@pytest.mark.usefixtures("member")
@pytest.mark.parametrize(("channel", "to"), [("sms", "+34612000001"), ("email", "ana@example.es")])
def test_a_sign_in_code_is_not_readable_in_the_database_but_is_delivered(
    app, client, outbox_files, channel, to
):
    post(client, "/login", {"email": "ana@example.es", "password": PASSWORD})
    post(client, "/login/channel", {"channel": channel})
    message = [m for m in outbox(app) if m.recipient == to][-1]
    code = re.search(r"\b(\d{6})\b", message.body_text).group(1)
    assert code not in stored_text(app, "outbox_messages", message.id)
    with app.app_context():
        deliver_message(message.id)
    sms_file, mail_file = outbox_files
    delivered = json.loads((sms_file if channel == "sms" else mail_file).read_text().splitlines()[-1])
    assert code in (delivered["body"] if channel == "sms" else delivered["text"] + delivered["html"])
