-- The patient's cohort at the call, coarse on purpose (sex, and an age band: <45, 45-64, >=65): feedback on cards is
-- split by it, so that a card clinicians override more for one group than another shows (issue 30, feedback by cohort).
ALTER TABLE cds_invocation ADD COLUMN cohort_sex TEXT NULL;
ALTER TABLE cds_invocation ADD COLUMN cohort_age TEXT NULL;
