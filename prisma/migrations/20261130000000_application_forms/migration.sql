-- Application forms by content hash: workflows keep only the hash (issue 11, slim histories).
CREATE TABLE "application_form" (
    "sha256" TEXT NOT NULL,
    "form" JSONB NOT NULL,
    "stored_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "application_form_pkey" PRIMARY KEY ("sha256")
);
