-- Board tags (issue 19): free labels an administrator puts on boards
-- (PATCH /api/v1/boards/{id}), so a rollout can target "every board tagged
-- pilot" besides an organisation, sites or a list (docs/updates.md). Bounded
-- here as in the API: each tag a short lowercase word, at most 16 a board.
CREATE FUNCTION fleet_tags_valid(tags text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_ndims(tags), 1) = 1
       AND coalesce(cardinality(tags), 0) <= 16
       AND NOT EXISTS (SELECT 1 FROM unnest(tags) t
                        WHERE t IS NULL OR t !~ '^[a-z0-9][a-z0-9_-]{0,31}$')
$$;

ALTER TABLE boards ADD COLUMN tags text[] NOT NULL DEFAULT '{}'
    CHECK (fleet_tags_valid(tags));
-- "boards with any of these tags" (tags && ARRAY[...]) for the list and rollouts.
CREATE INDEX boards_tags_idx ON boards USING gin (tags);
