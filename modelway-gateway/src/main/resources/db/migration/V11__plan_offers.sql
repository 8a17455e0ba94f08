-- Which tenants' admins may see a plan and put their keys on it: every tenant when
-- offered_to_all, else the tenants listed in plan_offers. A plan offered to no one is put on
-- tenants and keys by a platform admin only. Plans that existed before are offered to no one.

ALTER TABLE plans ADD COLUMN offered_to_all BOOLEAN DEFAULT FALSE NOT NULL;

CREATE TABLE plan_offers (
  plan_id    VARCHAR(64) NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
  tenant_id  VARCHAR(64) NOT NULL REFERENCES tenants (id),
  PRIMARY KEY (plan_id, tenant_id)
);
