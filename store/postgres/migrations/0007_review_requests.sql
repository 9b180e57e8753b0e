-- Review requests (store/roles/reviews.py): the completed jobs whose request is due, found by
-- the `review_due_at` their document carries, without a column every job write would have to set.
CREATE INDEX jobs_reviews ON jobs (business, ((doc->>'review_due_at') COLLATE "C"), id)
    WHERE status = 'complete' AND doc->>'review_due_at' IS NOT NULL;
