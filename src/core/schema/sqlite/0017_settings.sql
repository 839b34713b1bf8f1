-- What the back office sets without editing wangge.conf:
--   parameter_values  a parameter set on the 参数设置 page; it wins over
--                     wangge.conf until it is taken back (core/app/params.c)
--   dict_entries      values an administrator adds to a value list a
--                     resource declares extensible (字典管理): a tag, a kind
--                     of venue (core/resource/resource_dict.c)
CREATE TABLE parameter_values (
  key         TEXT PRIMARY KEY,
  value       TEXT NOT NULL,
  updated_at  INTEGER NOT NULL,
  updated_by  INTEGER
);

CREATE TABLE dict_entries (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  resource    TEXT NOT NULL,
  field       TEXT NOT NULL,
  value       TEXT NOT NULL,
  label       TEXT NOT NULL,
  label_en    TEXT,
  sort        INTEGER NOT NULL DEFAULT 0,
  enabled     INTEGER NOT NULL DEFAULT 1,
  version     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (resource, field, value),
  UNIQUE (resource, field, label)
);
