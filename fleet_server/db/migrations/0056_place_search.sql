-- The console's place picker (GET /search/places, console/place_search.py;
-- issue 20): a site's or board's name found from a few letters typed without
-- accents, in the caller's scope. Until now each search ran a regular
-- expression of accented letter classes over every site and board in scope
-- (13-44 ms at 10,000 boards); folding names in SQL with translate() over
-- the whole Vietnamese table cost ~0.12 ms a name.
--
-- place_fold(text): lower-case (ASCII letters only, whatever the database's
-- collation) without accents: the text decomposed (NFD), its combining marks
-- (U+0300-U+036F) dropped, đ/Đ as d ("Phong Thổ" -> "phong tho"). The picker
-- folds what is typed the same way in Python (place_search.fold; a test
-- compares the two). About 12 us a name.
CREATE FUNCTION place_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(translate(regexp_replace(normalize($1, NFD), '[\u0300-\u036f]', '', 'g'),
                           'đĐ', 'dd') COLLATE "C")
$$;

-- What the picker searches, kept with the row (a stored generated column:
-- computed on every insert and update, never written by hand): the folded
-- names and the site's code, or the folded name and the board's id
-- (lower-case), one per line. A search is ``search_text LIKE '%typed%'``.
ALTER TABLE sites ADD COLUMN search_text text NOT NULL GENERATED ALWAYS AS (
    place_fold(name) || E'\n' || coalesce(place_fold(name_en), '') || E'\n' || code) STORED;
ALTER TABLE boards ADD COLUMN search_text text NOT NULL GENERATED ALWAYS AS (
    place_fold(name) || E'\n' || lower(id)) STORED;

-- With the pg_trgm extension (shipped with PostgreSQL's contrib, trusted:
-- the schema owner may create it), a trigram index answers the "contains"
-- search from the index. Without it (not installed, or not allowed) the
-- search reads the stored column of every site and board in scope: ~2 ms
-- at 10,000 boards, no accent folding at read time either way.
DO $$
DECLARE
    trgm_schema text;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE 'pg_trgm not created (%): the place search reads without an index', SQLERRM;
        END;
    END IF;
    SELECT n.nspname INTO trgm_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        EXECUTE format('CREATE INDEX sites_search_trgm_idx ON sites USING gin (search_text %I.gin_trgm_ops)', trgm_schema);
        EXECUTE format('CREATE INDEX boards_search_trgm_idx ON boards USING gin (search_text %I.gin_trgm_ops)', trgm_schema);
    END IF;
END
$$;
