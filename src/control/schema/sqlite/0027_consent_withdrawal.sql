-- A household may take its consent back (撤回知情同意): the consent keeps
-- when and why, the household's devices are retired, and a new consent
-- later takes the same row again (the audit trail keeps each step).
ALTER TABLE control_consents ADD COLUMN withdrawn_at INTEGER;
ALTER TABLE control_consents ADD COLUMN withdrawn_reason TEXT;
