-- Which chat an operation goes to, when one process runs more than one (Discord and Slack):
-- NULL is the home chat's (what belongs to no chat: alerts, webhook groups).
ALTER TABLE chat_ops ADD COLUMN chat TEXT;
-- The chat each subject started in: every later operation about it goes there.
CREATE TABLE subject_chats (
    subject TEXT PRIMARY KEY,
    chat TEXT NOT NULL
);
-- Subjects from before belong to the one chat there was; '' is the home chat.
INSERT INTO subject_chats (subject, chat)
    SELECT DISTINCT lane, '' FROM chat_ops
    WHERE lane LIKE 'incident:%' OR lane LIKE 'maintenance:%' OR lane LIKE 'plan:%' OR lane LIKE 'alert:%';
