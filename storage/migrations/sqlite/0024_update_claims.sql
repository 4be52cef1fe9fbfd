-- Webhook mode, several instances: an update still in hand after `answer_within` (50 s) is
-- answered 503, and Telegram posts it again, perhaps to another instance. The instance
-- handling it records a claim here before that answer and renews it while it handles, so
-- another instance that receives the redelivery reads the claim in the same statement that
-- asks whether the update was handled (storage/sqlite/repository.py, OPEN_SQL) and answers
-- 503 in turn instead of handling it a second time. A claim of a holder that is gone (its
-- expiry passed, or its pid is gone on this machine) is ignored (bot.domain.claims).
CREATE TABLE update_claims (
    update_id  INTEGER PRIMARY KEY,
    holder     TEXT NOT NULL,         -- the instance handling it (bot.domain.lease.InstanceId)
    expires_at TEXT NOT NULL          -- UTC instant, storage.codec.encode_instant
);
