-- /forget erases what it promises (#10 item 8), including the copies of the citizen's data
-- the bot posted in officials' chats. Each such message must be found again: the card (to be
-- edited), its files and map pin, what the citizen added, their comments (to be deleted).

-- A media group becomes several messages; message_id keeps the first, this all of them.
ALTER TABLE outbox ADD COLUMN message_ids TEXT;   -- JSON list, NULL for a single message

-- The card posted directly in answer to an official (📄 Show all, /find): not outbox rows.
CREATE TABLE appeal_copies (
    appeal_id  INTEGER NOT NULL REFERENCES appeals(id) ON DELETE CASCADE,
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    at         TEXT NOT NULL
);
CREATE INDEX appeal_copies_by_appeal ON appeal_copies (appeal_id);

-- Outbox purposes from now on: card:<id> the card, card-edit:<id> an edit of it, appeal:<id>
-- any other message carrying the citizen's data. Rows written before carried a purpose on
-- the card only; the rest are found by their dedupe keys (photos:<id>:<chat>,
-- doc:<id>:<n>:<chat>, pin:<id>:<chat>, addition:<addition id>…), by the card message they
-- edit, or (a comment, which had no key) by its header and the appeal's number.
-- CAST keeps the leading integer: CAST('12:-100' AS INTEGER) = 12.
UPDATE outbox SET purpose = 'appeal:' || CAST(substr(dedupe_key, 8) AS INTEGER)
 WHERE purpose IS NULL AND dedupe_key LIKE 'photos:%';
UPDATE outbox SET purpose = 'appeal:' || CAST(substr(dedupe_key, 5) AS INTEGER)
 WHERE purpose IS NULL AND (dedupe_key LIKE 'doc:%' OR dedupe_key LIKE 'pin:%');
UPDATE outbox
   SET purpose = 'appeal:' || (SELECT x.appeal_id FROM appeal_additions x
                                WHERE x.id = CAST(substr(outbox.dedupe_key, 10) AS INTEGER))
 WHERE purpose IS NULL AND dedupe_key LIKE 'addition:%'
   AND EXISTS (SELECT 1 FROM appeal_additions x
                WHERE x.id = CAST(substr(outbox.dedupe_key, 10) AS INTEGER));
UPDATE outbox
   SET purpose = (SELECT 'card-edit:' || substr(c.purpose, 6) FROM outbox c
                   WHERE c.purpose LIKE 'card:%' AND c.chat_id = outbox.chat_id
                     AND c.message_id = json_extract(outbox.payload, '$.message_id')
                   ORDER BY c.id DESC LIMIT 1)
 WHERE purpose IS NULL AND method = 'editMessageText'
   AND EXISTS (SELECT 1 FROM outbox c
                WHERE c.purpose LIKE 'card:%' AND c.chat_id = outbox.chat_id
                  AND c.message_id = json_extract(outbox.payload, '$.message_id'));
-- The comment's header names the appeal as «№ 2026-00001:» (ru) or «№ 2026-00001 өтініш» (kk).
UPDATE outbox
   SET purpose = (SELECT 'appeal:' || a.id FROM appeals a
                   WHERE instr(json_extract(outbox.payload, '$.text'), '№ ' || a.reference || ':')
                      OR instr(json_extract(outbox.payload, '$.text'), '№ ' || a.reference || ' ')
                   LIMIT 1)
 WHERE purpose IS NULL AND dedupe_key IS NULL AND chat_id < 0 AND method = 'sendMessage'
   AND json_extract(payload, '$.text') LIKE '💬 %';
