-- A pandoc that stays warm between builds (belmig.report.pandocd): run as
-- `pandoc lua pandoc_worker.lua <pandoc>`, it answers requests on stdin, one at a time.
--
-- A request is a line with the length of a JSON object, then the object:
--   sections   the text cut before its headers and after its captioned tables
--              (belmig.report.pandocast.sections_after_tables: footnote definitions handed to
--              the sections that use them), or the whole text; after_table: for each section,
--              whether it starts after a table's caption (checked: the section before ends
--              with a captioned table);
--   to         the writer (typst, html5, docx); standalone, with template: its text, or null
--              for the writer's default;
--   filter     the Lua filter's path; meta: the --metadata-file's YAML text;
--   wrap, toc, toc_depth, variables (--css, --include-before-body as pandoc sets them);
--   cwd        where images are looked up (--resource-path); output: a file for a binary writer.
-- The answer is a line with a length, then {"text": ...}, {"ok": true} or {"error": ...}.
--
-- Each section's AST is kept, keyed by its text, so an edit re-reads only the sections it
-- touched. What pandoc would number across sections (header identifiers, notes and citations)
-- is checked as belmig.report.pandocast does; when the sections cannot stand for the whole text,
-- the answer is {"whole": true} and the caller sends the text in one piece.

local abbreviations = {}
for w in pandoc.pipe(arg[1], { "--print-default-data-file", "abbreviations" }, ""):gmatch("%S+") do
  abbreviations[w] = true
end
-- what the command line's reader gets: its data file's abbreviations, a standalone document
local reader_options = pandoc.ReaderOptions({ abbreviations = abbreviations, standalone = true })

local cache = {}      -- section text -> { blocks, meta, ids, count, ok, cites, offset, shifted }
local cached = 0
local templates = {}  -- template text -> compiled template

local function read_section(text)
  local entry = cache[text]
  if entry then return entry end
  local doc = pandoc.read(text, "markdown", reader_options)
  entry = { blocks = doc.blocks, meta = doc.meta, ids = {}, notes = 0, groups = 0, ok = true, cites = false }
  local function walk_note(note)
    -- a note inside a note, or a citation inside a note: pandoc numbers those its own way
    note:walk({
      Note = function() entry.ok = false end,
      Cite = function() entry.ok = false end,
    })
  end
  doc.blocks:walk({
    Header = function(h) entry.ids[#entry.ids + 1] = h.identifier end,
    Note = function(n) entry.notes = entry.notes + 1; walk_note(n) end,
    Cite = function(c)
      if #c.citations ~= 1 then entry.ok = false end
      entry.groups = entry.groups + 1
      entry.cites = true
    end,
  })
  entry.count = entry.notes + entry.groups
  entry.offset = 0
  entry.shifted = entry.blocks
  cached = cached + 1
  if cached > 400 then cache = {}; cached = 0 end  -- an editor's many versions: start again
  cache[text] = entry
  return entry
end

-- the section's blocks with its citations numbered from `offset` (as when read in the whole text)
local function blocks_at(entry, offset)
  if not entry.cites or offset == 0 then return entry.blocks end
  if entry.offset ~= offset then
    entry.shifted = entry.blocks:walk({
      Cite = function(c)
        local cites = c.citations
        for _, citation in ipairs(cites) do citation.note_num = citation.note_num + offset end
        c.citations = cites
        return c
      end,
    })
    entry.offset = offset
  end
  return entry.shifted
end

local function document(sections, after_table)
  local entries, seen = {}, {}
  for i, text in ipairs(sections) do
    local e = read_section(text)
    if #sections > 1 then  -- (one section is the whole text: pandoc numbered it)
      if not e.ok then return nil end
      for _, id in ipairs(e.ids) do
        if seen[id] then return nil end  -- pandoc would have numbered the repeated id
        seen[id] = true
      end
      if after_table and after_table[i] == true then
        -- cut after a table's caption: pandoc must have read a captioned table there
        local before = entries[i - 1] and entries[i - 1].blocks
        local last = before and before[#before]
        if not last or last.t ~= "Table" or #last.caption.long == 0 then return nil end
      end
    end
    entries[i] = e
  end
  local blocks = pandoc.Blocks({})
  local offset = 0
  for _, e in ipairs(entries) do
    blocks:extend(blocks_at(e, offset))
    offset = offset + e.count
  end
  return pandoc.Pandoc(blocks, entries[1] and entries[1].meta or pandoc.Meta({}))
end

local function convert(req)
  local doc = document(req.sections, req.after_table)
  if doc == nil then return { whole = true } end
  if type(req.meta) == "string" and req.meta ~= "" then  -- --metadata-file: the text's own values win
    local defaults = pandoc.read("---\n" .. req.meta .. "\n---\n", "markdown", reader_options).meta
    for k, v in pairs(defaults) do
      if doc.meta[k] == nil then doc.meta[k] = v end
    end
  end
  FORMAT = req.to
  local function run()
    doc = pandoc.utils.run_lua_filter(doc, req.filter)
    local opts = { variables = req.variables or {}, wrap_text = req.wrap or "auto" }
    if req.standalone then
      local text = type(req.template) == "string" and req.template or pandoc.template.default(req.to)
      local t = templates[text]
      if not t then
        t = pandoc.template.compile(text)
        templates[text] = t
      end
      opts.template = t
    end
    if req.toc then
      opts.table_of_contents = true
      opts.toc_depth = req.toc_depth
    end
    return pandoc.write(doc, req.to, pandoc.WriterOptions(opts))
  end
  local out
  if type(req.cwd) == "string" then
    out = pandoc.system.with_working_directory(req.cwd, run)
  else
    out = run()
  end
  if type(req.output) == "string" then
    local f = assert(io.open(req.output, "wb"))
    f:write(out)
    f:close()
    return { ok = true }
  end
  if not req.standalone then out = out .. "\n" end  -- as the command line ends a fragment
  return { text = out }
end

while true do
  local line = io.stdin:read("l")
  if not line then break end
  local req = pandoc.json.decode(io.stdin:read(tonumber(line)), false)
  local ok, reply = pcall(convert, req)
  if not ok then reply = { error = tostring(reply) } end
  local body = pandoc.json.encode(reply)
  io.stdout:write(#body, "\n", body)
  io.stdout:flush()
end
