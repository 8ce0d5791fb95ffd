-- The patient's race and ethnicity at the call, as the record states them (OMB categories of the US Core extensions),
-- so that feedback on cards is split by the same cohorts as the fairness audit. Null when the record states none.
ALTER TABLE cds_invocation ADD COLUMN cohort_race TEXT NULL;
ALTER TABLE cds_invocation ADD COLUMN cohort_ethnicity TEXT NULL;
