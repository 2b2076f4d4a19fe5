-- The public notice (公示) of the current review round, for the public list (issue 12). Rows
-- written before this stay null until their pilot's next recorded step: a pilot's dates live in
-- its workflow, not in any table, so they cannot be filled in here.
ALTER TABLE "pilot" ADD COLUMN "public_notice_started_at" TIMESTAMP(3),
ADD COLUMN "public_notice_ends_at" TIMESTAMP(3);
