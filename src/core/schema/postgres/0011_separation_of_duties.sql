-- Separation of duties (等保 2.0 level 3: 系统管理员 / 审计管理员): the
-- administrator no longer reads the audit trail. The built-in admin role
-- loses AUDIT_READ (rights.def grants it to the auditor only from now on);
-- every process reloads its roles.
DELETE FROM role_rights
 WHERE right_name = 'AUDIT_READ'
   AND role_id IN (SELECT id FROM roles WHERE name = 'admin' AND builtin = 1);
UPDATE roles_generation SET generation = generation + 1 WHERE id = 1;
