-- The public URL the node's document names, recorded by the first node to start on this
-- database: a replica started with another KEYPEARS_PUBLIC_URL is refused at start, since
-- peers would refuse what it signs (docs/operators.md, "Replicas behind a balancer"). One row.
CREATE TABLE "node_publication" (
    "id" SMALLINT NOT NULL DEFAULT 1,
    "public_url" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "node_publication_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "node_publication_one_row" CHECK ("id" = 1)
);
