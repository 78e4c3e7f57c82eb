-- Điều 8.1 counts only information serving propaganda: a minute on air counts
-- when the file shown is an approved registry item (valid when shown) whose
-- registry kind is propaganda or emergency information. What else was on air
-- is kept beside it: approved advertising (advertising_minutes, Điều 8.3),
-- files the registry does not approve at that time (unapproved_minutes), and
-- time with no file hash at all (unidentified_minutes). morning_minutes and
-- afternoon_minutes are the counted minutes inside the windows.
ALTER TABLE compliance_days
    ADD COLUMN counted_minutes      real NOT NULL DEFAULT 0,
    ADD COLUMN unapproved_minutes   real NOT NULL DEFAULT 0,
    ADD COLUMN unidentified_minutes real NOT NULL DEFAULT 0;
