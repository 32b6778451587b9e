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
-- The answer is a line with a length, then {"text": ..., "joined": ...}, {"ok": true} or
-- {"error": ...} ("joined": the text was put together from the sections' texts).
--
-- Each section's AST is kept, keyed by its text, so an edit re-reads only the sections it
-- touched; so are what the filter and the writer made of it (filtered(), joined()). What pandoc
-- would number across sections (header identifiers, notes and citations) is checked as
-- belmig.report.pandocast does; when the sections cannot stand for the whole text, the answer
-- is {"whole": true} and the caller sends the text in one piece.

local abbreviations = {}
for w in pandoc.pipe(arg[1], { "--print-default-data-file", "abbreviations" }, ""):gmatch("%S+") do
  abbreviations[w] = true
end
-- what the command line's reader gets: its data file's abbreviations, a standalone document
local reader_options = pandoc.ReaderOptions({ abbreviations = abbreviations, standalone = true })

local cache = {}      -- section text -> { blocks, meta, ids, count, ok, cites, serial, out, ... }
local cached = 0
local serial = 0      -- each entry's number (what the module-level caches below are keyed by)
local templates = {}  -- template text -> compiled template

local function read_section(text)
  local entry = cache[text]
  if entry then return entry end
  local doc = pandoc.read(text, "markdown", reader_options)
  serial = serial + 1
  entry = {
    blocks = doc.blocks, meta = doc.meta, ids = {}, notes = 0, groups = 0, ok = true, cites = false,
    serial = serial, out = {},
  }
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
  cached = cached + 1
  if cached > 400 then cache = {}; cached = 0 end  -- an editor's many versions: start again
  cache[text] = entry
  return entry
end

-- `blocks` (a section's) with its citations numbered from `offset` (as when read in the whole text)
local function shifted(entry, blocks, offset)
  if not entry.cites or offset == 0 then return blocks end
  return blocks:walk({
    Cite = function(c)
      local cites = c.citations
      for _, citation in ipairs(cites) do citation.note_num = citation.note_num + offset end
      c.citations = cites
      return c
    end,
  })
end

-- the sections as read, or nil when they cannot stand for the whole text
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
  return entries
end

-- The filter's steps (report/filters/crossref.lua loaded with "phases"), by path; false for a
-- filter that has none (it then runs on the whole document, as on the command line).
local filters = {}  -- path -> { text, steps }

local function steps_of(path)
  local f = type(path) == "string" and io.open(path, "rb")
  if not f then return false end
  local text = f:read("a")
  f:close()
  local c = filters[path]
  if not c or c.text ~= text then
    local chunk = load(text, "@" .. path)
    local ok, steps = false, nil
    if chunk then ok, steps = pcall(chunk, "phases") end
    c = { text = text, steps = ok and type(steps) == "table" and type(steps.elements) == "table" and steps or false }
    filters[path] = c
  end
  return c.steps
end

-- The filter on the sections: what its first pass does to one section is kept with the section,
-- what it does once (numbering, the front) runs on every request, and the second pass is kept
-- for the section while the numbering is the same. Returns the front as a document (blocks and
-- the metadata, through the second pass) and each section's blocks through both passes.
local function filtered(entries, steps, meta)
  local runs = {}
  for i, e in ipairs(entries) do
    if e.steps ~= steps then
      e.steps = steps
      e.prepared = steps.caption_ids(e.blocks)
      e.found = steps.targets(e.prepared)
      e.out = {}
    end
    runs[i] = e.found
  end
  local state = FORMAT .. "\2" .. steps.number(meta, runs)
  local head = pandoc.Pandoc(steps.front(meta), meta):walk(steps.elements)
  local outs, offset = {}, 0
  for i, e in ipairs(entries) do
    local key = state .. "\2" .. offset
    local o = e.out[FORMAT]
    if not o or o.key ~= key then
      o = { key = key, blocks = shifted(e, e.prepared, offset):walk(steps.elements) }
      e.out[FORMAT] = o
    end
    outs[i] = o
    offset = offset + e.count
  end
  return head, outs
end

-- What the sections' texts cannot be joined for: a header inside another block (the table of
-- contents is made from the top-level ones), math or highlighted code (they add to the template).
local function frame_headers(o)
  if o.headers ~= nil then return o.headers end
  local headers, all, plain = pandoc.List(), 0, true
  for _, b in ipairs(o.blocks) do
    if b.t == "Header" then headers:insert(b) end
  end
  o.blocks:walk({
    Header = function() all = all + 1 end,
    Math = function() plain = false end,
    CodeBlock = function() plain = false end,
    Code = function(c) if #c.classes > 0 then plain = false end end,
  })
  o.headers = (plain and all == #headers) and headers or false
  return o.headers
end

local CUT = "<!-- belmig:cut -->"
local noted = {}   -- writer -> { key, parts, tail }: the HTML of the sections with notes
local frames = {}  -- writer -> { key, before, after }: the standalone document around its body

-- HTML: the texts of the sections with notes (`with`: their numbers), written together, for
-- notes are numbered across the document, and the list of notes that follows the body; nil
-- when the text cannot be cut at the marks
local function noted_texts(with, outs, entries, wkey, write)
  local key = { wkey }
  for _, i in ipairs(with) do key[#key + 1] = entries[i].serial .. "\3" .. outs[i].key end
  key = table.concat(key, "\2")
  local n = noted[FORMAT]
  if n and n.key == key then return n end
  local blocks = pandoc.Blocks({})
  for _, i in ipairs(with) do
    blocks:extend(outs[i].blocks)
    blocks:insert(pandoc.RawBlock("html", CUT))
  end
  local text = write(blocks)
  local pieces, from = {}, 1
  while true do
    local a, b = text:find(CUT, from, true)
    if not a then break end
    pieces[#pieces + 1] = text:sub(from, a - 1)
    from = b + 1
  end
  if #pieces ~= #with then return nil end  -- the text itself has the mark
  n = { key = key, parts = {}, tail = text:sub(from) }
  for k, piece in ipairs(pieces) do
    if k > 1 then
      if piece:sub(1, 1) ~= "\n" then return nil end
      piece = piece:sub(2)
    end
    if piece:sub(-1) ~= "\n" then return nil end
    n.parts[with[k]] = piece:sub(1, -2)
  end
  noted[FORMAT] = n
  return n
end

-- The standalone document around the body: the template written for the top-level headers of
-- the sections before `last` (the table of contents) and a mark; without notes (`tail` ""),
-- section `last` follows the mark, so that the body ends in the template as the whole text's
-- does (a Typst body's last blank line is the template's), and `after` starts after that
-- section's text (`last_text`). Kept while the headers, the last section and the options are
-- the same; nil when the mark is not found where expected.
local function framed(outs, entries, last, last_text, tail, wkey, write, req, opts, head_meta)
  local upto = tail == "" and last - 1 or #outs
  local frame = pandoc.Blocks({})
  for i = 1, upto do
    local h = frame_headers(outs[i])
    if not h then return nil end
    frame:extend(h)
  end
  frame:insert(pandoc.RawBlock(FORMAT, CUT))
  local mark = write(frame)
  local key = table.concat({
    wkey, mark, type(req.template) == "string" and req.template or "", pandoc.json.encode(req.variables or {}),
    tostring(req.toc), tostring(req.toc_depth), tail == "" and entries[last].serial .. "\3" .. outs[last].key or "",
  }, "\2")
  local f = frames[FORMAT]
  if f and f.key == key then return f end
  local after_mark = ""  -- the text between the mark and the last section's (without notes)
  if tail == "" then
    if not frame_headers(outs[last]) then return nil end
    frame:extend(outs[last].blocks)
    local both = write(frame)
    if both:sub(1, #mark) ~= mark or both:sub(-#last_text) ~= last_text or #both < #mark + #last_text then
      return nil
    end
    after_mark = both:sub(#mark + 1, #both - #last_text)
  end
  local out = pandoc.write(pandoc.Pandoc(frame, head_meta), FORMAT, pandoc.WriterOptions(opts))
  local a, b = out:find(mark, 1, true)
  if not a or out:find(mark, b + 1, true) or out:sub(b + 1, b + #after_mark) ~= after_mark then return nil end
  f = { key = key, before = out:sub(1, a - 1), after = out:sub(b + #after_mark + 1) }
  frames[FORMAT] = f
  return f
end

-- The writer's text of the whole document from each section's, kept with the section: Typst
-- and HTML write a document's blocks one after another, so the body is the sections' texts
-- joined with a newline (HTML's sections with notes: noted_texts()), in the template
-- (framed()). Returns nil when the text cannot be had this way (the caller writes the whole
-- document).
local function joined(head, outs, entries, meta_key, req, opts)
  local bare = pandoc.WriterOptions({ wrap_text = req.wrap or "auto" })
  local wkey = table.concat({ FORMAT, tostring(req.wrap), tostring(req.cwd), meta_key }, "\2")
  local function write(blocks) return pandoc.write(pandoc.Pandoc(blocks, head.meta), FORMAT, bare) end
  local texts, with = {}, {}
  for i, o in ipairs(outs) do
    if o.wkey ~= wkey then o.text = nil; o.wkey = wkey end
    if FORMAT == "html5" and entries[i].notes > 0 then
      with[#with + 1] = i
    else
      if not o.text then o.text = write(o.blocks) end
      texts[i] = o.text
    end
  end
  local tail = ""
  if #with > 0 then
    local n = noted_texts(with, outs, entries, wkey, write)
    if not n then return nil end
    for _, i in ipairs(with) do texts[i] = n.parts[i] end
    tail = n.tail
  end
  local pieces = {}  -- the nonempty texts, in order: { text, section number (0: the front) }
  local front = write(head.blocks)
  if front ~= "" then pieces[1] = { front, 0 } end
  for i = 1, #outs do
    if texts[i] ~= "" then pieces[#pieces + 1] = { texts[i], i } end
  end
  local function join(upto)
    local t = {}
    for k = 1, upto do t[k] = pieces[k][1] end
    return table.concat(t, "\n")
  end
  if not req.standalone then return join(#pieces) .. tail end
  for _, b in ipairs(head.blocks) do
    if b.t == "Header" then return nil end  -- (the table of contents is made from the sections')
  end
  local last = pieces[#pieces]
  if not last or last[2] == 0 then return nil end
  local f = framed(outs, entries, last[2], last[1], tail, wkey, write, req, opts, head.meta)
  if not f then return nil end
  if tail ~= "" then return f.before .. join(#pieces) .. tail .. f.after end
  local body = join(#pieces - 1)
  return f.before .. body .. (body ~= "" and "\n" or "") .. f.after
end

local SPLIT = { typst = true, html5 = true }  -- writers joined from the sections' texts

-- DOCX, written whole: the blocks with their tables as raw OpenXML (the filter's docx_tables),
-- each section's kept with the section's second pass, and the empty paragraph the writer puts
-- between two tables where a section ending with one meets a section starting with one
local function docx_blocks(head, outs, steps)
  local todo, lists = {}, { head.blocks }
  for i, o in ipairs(outs) do
    if not o.docx then
      todo[#todo + 1] = i
      lists[#lists + 1] = o.blocks
    end
  end
  local res = steps.docx_tables(lists)
  for k, i in ipairs(todo) do outs[i].docx = res[k + 1] end
  local blocks, last = pandoc.Blocks({}), nil
  local function add(part)
    local first = part.first
    if steps.separates(last, first) then
      blocks:insert(pandoc.RawBlock("openxml", "<w:p />"))
    end
    blocks:extend(part.blocks)
    last = part.last or last
  end
  add(res[1])
  for _, o in ipairs(outs) do add(o.docx) end
  return blocks
end

local function convert(req)
  local entries = document(req.sections, req.after_table)
  if entries == nil then return { whole = true } end
  local meta = {}  -- a copy: the filter changes the document's (the kept section's stays)
  for k, v in pairs(entries[1] and entries[1].meta or {}) do meta[k] = v end
  if type(req.meta) == "string" and req.meta ~= "" then  -- --metadata-file: the text's own values win
    local defaults = pandoc.read("---\n" .. req.meta .. "\n---\n", "markdown", reader_options).meta
    for k, v in pairs(defaults) do
      if meta[k] == nil then meta[k] = v end
    end
  end
  FORMAT = req.to
  local steps = steps_of(req.filter)
  local function run()
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
    local doc
    if steps then
      local head, outs = filtered(entries, steps, meta)
      if SPLIT[req.to] and type(req.output) ~= "string" then
        -- the document's metadata (what a writer may read besides the blocks): an edit of the
        -- first section's text leaves the other sections' texts as they were
        local meta_key = pandoc.write(pandoc.Pandoc({}, head.meta), "json")
        local text = joined(head, outs, entries, meta_key, req, opts)
        if text then return text, true end
      end
      local blocks = pandoc.Blocks({})
      if FORMAT == "docx" and steps.docx_tables and steps.separates then
        blocks = docx_blocks(head, outs, steps)
      else
        blocks:extend(head.blocks)
        for _, o in ipairs(outs) do blocks:extend(o.blocks) end
      end
      doc = pandoc.Pandoc(blocks, head.meta)
    else
      local blocks, offset = pandoc.Blocks({}), 0
      for _, e in ipairs(entries) do
        blocks:extend(shifted(e, e.blocks, offset))
        offset = offset + e.count
      end
      doc = pandoc.utils.run_lua_filter(pandoc.Pandoc(blocks, meta), req.filter)
    end
    return pandoc.write(doc, req.to, pandoc.WriterOptions(opts))
  end
  local out, from_sections
  if type(req.cwd) == "string" then
    out, from_sections = pandoc.system.with_working_directory(req.cwd, run)
  else
    out, from_sections = run()
  end
  if type(req.output) == "string" then
    local f = assert(io.open(req.output, "wb"))
    f:write(out)
    f:close()
    return { ok = true }
  end
  if not req.standalone then out = out .. "\n" end  -- as the command line ends a fragment
  return { text = out, joined = from_sections == true }
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
