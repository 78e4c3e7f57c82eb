-- Điều 8.3: "Thời lượng đăng phát thông tin quảng cáo thực hiện theo quy định
-- của pháp luật về quảng cáo." The regulation fixes no number, so the ceiling
-- is a setting (FLEET_COMPLIANCE_ADVERTISING_CEILING_PERCENT, overridable per
-- organisation or site; docs/compliance.md). Each day keeps:
--   advertising_share_percent   approved advertising as a share of the
--                               day's minutes on air (total_minutes), in
--                               percent; NULL when nothing was on air
--   advertising_ceiling_percent the ceiling in force when the day was judged
--   advertising_ceiling_from    where it came from: 'fleet',
--                               'organisation:<code>' or 'site:<code>'
-- A day whose share exceeds its ceiling raises an incident of rule
-- advertising_share_exceeded.
ALTER TABLE compliance_days
    ADD COLUMN advertising_share_percent   real
        CHECK (advertising_share_percent BETWEEN 0 AND 100),
    ADD COLUMN advertising_ceiling_percent real
        CHECK (advertising_ceiling_percent BETWEEN 0 AND 100),
    ADD COLUMN advertising_ceiling_from    text
        CHECK (advertising_ceiling_from ~ '^(fleet|organisation:.+|site:.+)$');

-- Days judged before: the share follows from their minutes; their ceiling
-- is unknown (no finding is raised for them).
UPDATE compliance_days
   SET advertising_share_percent = LEAST(100, round((100 * advertising_minutes / total_minutes)::numeric, 2))
 WHERE total_minutes > 0;

-- The compliance job looks for days over their ceiling.
CREATE INDEX compliance_days_advertising_over_idx ON compliance_days (day)
    WHERE advertising_share_percent > advertising_ceiling_percent;
