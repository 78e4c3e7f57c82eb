-- Channels beside e-mail and webhook (Telegram, brandname SMS, Zalo ZNS), a
-- fallback chain per contact, and each person's own preferences: channels in
-- order, severities, quiet hours (docs/notifications.md).

-- A contact's addresses on the new channels, and the account it belongs to.
ALTER TABLE contacts
    -- The person's own account: they edit their preferences through it.
    ADD COLUMN user_id bigint UNIQUE REFERENCES users (id) ON DELETE SET NULL,
    -- Vietnamese mobile number in international form without '+': 84 and 9 digits.
    ADD COLUMN phone text CHECK (phone ~ '^84[1-9][0-9]{8}$'),
    -- A Telegram chat id (a number, negative for groups) or @channelusername.
    ADD COLUMN telegram_chat_id text
        CHECK (telegram_chat_id ~ '^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$'),
    -- When the person agreed to receive Zalo ZNS messages (ZNS needs the
    -- user's consent); NULL: no consent, Zalo is never tried.
    ADD COLUMN zalo_consent_at timestamptz;

-- Existing contacts belong to the account with the same e-mail address, when
-- exactly one account and one contact have it.
UPDATE contacts c SET user_id = u.id
FROM users u
WHERE lower(c.email) = lower(u.email)
  AND (SELECT count(*) FROM users u2 WHERE lower(u2.email) = lower(c.email)) = 1
  AND (SELECT count(*) FROM contacts c2 WHERE lower(c2.email) = lower(c.email)) = 1;

-- A person's (or a duty desk's) own choices. Without a row: every route's
-- channel, every severity, no quiet hours (the behaviour before 0032).
CREATE TABLE notification_preferences (
    contact_id  bigint PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    -- The fallback chain, first choice first (e.g. {zalo,sms,email}).
    channels    text[] NOT NULL CHECK (
                    cardinality(channels) BETWEEN 1 AND 4
                    AND channels <@ ARRAY['email', 'telegram', 'sms', 'zalo']),
    -- Critical notices are always delivered.
    severities  text[] NOT NULL CHECK (
                    'critical' = ANY (severities)
                    AND severities <@ ARRAY['critical', 'major', 'minor', 'warning']),
    -- Vietnam time; only critical notices are delivered between them (may span midnight).
    quiet_from  time,
    quiet_until time,
    updated_at  timestamptz NOT NULL,
    CHECK ((quiet_from IS NULL) = (quiet_until IS NULL)),
    CHECK (quiet_from IS DISTINCT FROM quiet_until OR quiet_from IS NULL)
);

ALTER TABLE notification_routes DROP CONSTRAINT notification_routes_channel_check;
ALTER TABLE notification_routes ADD CONSTRAINT notification_routes_channel_check
    CHECK (channel IN ('email', 'webhook', 'telegram', 'sms', 'zalo'));

ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_channel_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_channel_check
    CHECK (channel IN ('email', 'webhook', 'telegram', 'sms', 'zalo'));

-- 'confirming': the provider accepted the message and will confirm delivery
-- (SMS delivery reports); after confirm_by without one, the next channel.
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_state_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_state_check
    CHECK (state IN ('pending', 'sending', 'confirming', 'sent', 'failed', 'cancelled'));

ALTER TABLE notification_outbox
    -- Channels still to try, in order, when this one fails for good or is
    -- not confirmed in time; channels already tried, never tried again.
    ADD COLUMN fallback            text[] NOT NULL DEFAULT '{}',
    ADD COLUMN tried               text[] NOT NULL DEFAULT '{}',
    ADD COLUMN severity            text,
    -- Why the row is held: 'quiet_hours' (a critical notice of the same
    -- incident releases it) or NULL.
    ADD COLUMN held_for            text CHECK (held_for IN ('quiet_hours')),
    ADD COLUMN confirm_by          timestamptz,
    ADD COLUMN provider_message_id text CHECK (length(provider_message_id) <= 200),
    ADD CONSTRAINT notification_outbox_chain_check CHECK (NOT (channel = ANY (fallback))),
    ADD CONSTRAINT notification_outbox_confirm_check
        CHECK ((state = 'confirming') = (confirm_by IS NOT NULL));

CREATE INDEX notification_outbox_confirming_idx ON notification_outbox (confirm_by)
    WHERE state = 'confirming';
CREATE INDEX notification_outbox_provider_idx ON notification_outbox (provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- Every attempt says on which channel it was made, and what the provider answered.
ALTER TABLE notification_deliveries
    ADD COLUMN channel             text,
    ADD COLUMN provider_message_id text CHECK (length(provider_message_id) <= 200);
