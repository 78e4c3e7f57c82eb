-- Reference frames of approved content (issue 18, "wrong content"): the
-- perceptual hash of a picture of the screen that an operator confirmed
-- shows the approved item correctly. Boards that play the item get the
-- item's frames in their desired configuration (proof.screen_references)
-- and call a screen far from all of them wrong_content.
CREATE TABLE content_reference_frames (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256      text NOT NULL REFERENCES content_items (sha256) ON DELETE CASCADE,
    phash       text NOT NULL CHECK (phash ~ '^[0-9a-f]{16}$'),
    -- the picture it was taken from (the picture itself may expire)
    snapshot_id bigint,
    board_id    text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    UNIQUE (sha256, phash)
);
