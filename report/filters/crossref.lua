-- Quarto-style cross-references and report blocks for plain pandoc (Typst, HTML, DOCX).
--
-- Pandoc reads `@fig-x` as a citation; Quarto resolves it as a cross-reference. This filter
-- does what Quarto would: numbers figures (#fig-...) and tables (#tbl-...) in document order
-- and turns @fig-x / @tbl-x / @sec-x into clickable references. The words come from the
-- edition's front matter (`crossref: fig-prefix, tbl-prefix, fig-title, tbl-title,
-- number-first`), so every language names them its own way ("Chart 5", "рис. 5", "5 pav.").
-- It also
--   * unwraps claim guards [text]{.claim guard="..."} and [text]{.cited} (checked in Python
--     before rendering: belmig.report.checks),
--   * renders ::: {.interview} blocks (paraphrased interview excerpts) and Quarto callouts,
--   * reads a table id from a caption ending in {#tbl-x} (Quarto syntax),
--   * uses PNG instead of SVG figures for HTML and DOCX, sets the image's alt text from its
--     `fig-alt` attribute (figures/chartNN.alt.txt, added by belmig.report.render),
--   * HTML/DOCX: authors as "name, role"; the synthetic-data notice, the provenance and (DOCX)
--     the generated-document notice at the top.
-- Every reference is checked before pandoc runs (belmig.report.checks.crossref_problems); an
-- unresolved one here still stops with a one-line message, not a stack trace.

-- Loaded with the argument "phases" (the render server's worker, belmig.report.pandoc_worker.lua),
-- the file returns its steps instead, so that the worker can run the second filter on each
-- section it has kept: what the first filter does to the whole document is split into what it
-- does to one section (captions' table ids; the targets found) and what it does once (numbering
-- the targets in order; the front of an HTML/DOCX document).
local mode = ...

local numbers, headings, words, titles, number_first

-- the state the second filter reads, as a new run starts it
local function reset()
  numbers = {}   -- id -> figure/table number
  headings = {}  -- id -> heading text
  words = { fig = "Chart", tbl = "Table" }   -- reference prefixes (crossref.*-prefix)
  titles = { fig = "Chart", tbl = "Table" }  -- caption labels (crossref.*-title)
  number_first = false
end
reset()

local function is_typst() return FORMAT:match("typst") ~= nil end
local function is_docx() return FORMAT:match("docx") ~= nil end

local function label(kind, n, title)
  local w = (title and titles or words)[kind]
  if number_first then return n .. "\u{A0}" .. w end
  return w .. "\u{A0}" .. n
end

local function read_meta(meta)
  local cr = meta.crossref
  if cr then
    local function s(k) return cr[k] and pandoc.utils.stringify(cr[k]) or nil end
    words.fig = s("fig-prefix") or words.fig
    words.tbl = s("tbl-prefix") or words.tbl
    titles.fig = s("fig-title") or words.fig
    titles.tbl = s("tbl-title") or words.tbl
    local nf = cr["number-first"]
    number_first = nf == true or (nf ~= nil and pandoc.utils.stringify(nf) == "true")
  end
end

local function fail(msg)
  io.stderr:write(msg .. "\n")
  error(msg, 0)
end

local function table_id_from_caption(tbl)
  local long = tbl.caption and tbl.caption.long
  if not long or #long == 0 then return end
  local last = long[#long]
  if last.t ~= "Plain" and last.t ~= "Para" then return end
  local text = pandoc.utils.stringify(last)
  local id = text:match("{#(tbl%-[%w_%-]+)}%s*$")
  if not id then return end
  local inl = last.content
  while #inl > 0 do
    local s = pandoc.utils.stringify(inl[#inl])
    inl:remove(#inl)
    if s:match("^{#tbl%-") then break end
  end
  while #inl > 0 and (inl[#inl].t == "Space" or inl[#inl].t == "SoftBreak") do inl:remove(#inl) end
  tbl.identifier = id
end

local function notice_blocks(meta)
  local blocks = pandoc.List()
  local title = meta["synthetic-notice-title"]
  local notice = meta["synthetic-notice"]
  if notice then
    local content = pandoc.List()
    if title then content:insert(pandoc.Para({ pandoc.Strong(pandoc.utils.stringify(title)) })) end
    content:insert(pandoc.Para(pandoc.utils.stringify(notice)))
    blocks:insert(pandoc.Div(content, pandoc.Attr("", { "synthetic-notice" }, { ["custom-style"] = "Synthetic notice" })))
  end
  if is_docx() and meta["generated-notice"] then
    blocks:insert(pandoc.Para({ pandoc.Emph(pandoc.utils.stringify(meta["generated-notice"])) }))
  end
  if meta.provenance then
    local lines = pandoc.List()
    for i, p in ipairs(meta.provenance) do
      if i > 1 then lines:insert(pandoc.LineBreak()) end
      lines:insert(pandoc.Str(pandoc.utils.stringify(p.label) .. ": " .. pandoc.utils.stringify(p.value)))
    end
    blocks:insert(pandoc.Div({ pandoc.Para(lines) }, pandoc.Attr("", { "provenance" }, { ["custom-style"] = "Provenance" })))
  end
  return blocks
end

-- first filter, on any run of blocks: a table's id from its caption ({#tbl-x})
local function caption_ids(blocks)
  return blocks:walk({
    Table = function(t)
      if t.identifier == "" then table_id_from_caption(t) end
      return t
    end,
  })
end

-- first filter, on any run of blocks: the figures, tables and headings to number, in order
local function targets(blocks)
  local found = {}
  blocks:walk({
    Figure = function(f)
      if f.identifier:match("^fig%-") then found[#found + 1] = { "fig", f.identifier } end
    end,
    Table = function(t)
      if t.identifier:match("^tbl%-") then found[#found + 1] = { "tbl", t.identifier } end
    end,
    Header = function(h)
      if h.identifier ~= "" then found[#found + 1] = { "sec", h.identifier, pandoc.utils.stringify(h.content) } end
    end,
  })
  return found
end

-- first filter, once: the state the second reads, from the front matter and the targets of each
-- run of blocks in document order (`runs`: lists from targets()); returns it as a string, the
-- same for the same state
local function number(meta, runs)
  reset()
  read_meta(meta)
  local fig, tbl = 0, 0
  local key = { words.fig, words.tbl, titles.fig, titles.tbl, tostring(number_first) }
  for _, found in ipairs(runs) do
    for _, t in ipairs(found) do
      if t[1] == "fig" then fig = fig + 1; numbers[t[2]] = fig
      elseif t[1] == "tbl" then tbl = tbl + 1; numbers[t[2]] = tbl
      else headings[t[2]] = t[3] end
      key[#key + 1] = table.concat(t, "\0")
    end
  end
  return table.concat(key, "\1")
end

-- first filter, once: HTML/DOCX authors and the blocks put before the text (none for Typst)
local function front(meta)
  if is_typst() then return pandoc.List() end
  -- authors as "name, role" (the default templates print a map as "true")
  if meta.author then
    local authors = pandoc.List()
    for _, a in ipairs(meta.author) do
      if type(a) == "table" and a.name then
        local s = pandoc.utils.stringify(a.name)
        if a.role then s = s .. ", " .. pandoc.utils.stringify(a.role) end
        authors:insert(pandoc.MetaInlines({ pandoc.Str(s) }))
      else
        authors:insert(a)
      end
    end
    meta.author = authors
  end
  return notice_blocks(meta)
end

local function number_elements(doc)
  doc.blocks = caption_ids(doc.blocks)
  number(doc.meta, { targets(doc.blocks) })
  if not is_typst() then
    local top = front(doc.meta)
    top:extend(doc.blocks)
    doc.blocks = top
  end
  return doc
end

local function reference(id)
  local prefix = id:match("^(%a+)%-")
  if not prefix or not (words[prefix] or prefix == "sec") then return nil end
  if prefix == "sec" then
    local title = headings[id]
    if not title then fail("unresolved cross-reference @" .. id .. ": no section with that id") end
    if is_typst() then
      return pandoc.RawInline("typst", "#link(<" .. id .. ">)[" .. title:gsub("([%[%]#*_])", "\\%1") .. "]")
    end
    return pandoc.Link(title, "#" .. id)
  end
  local n = numbers[id]
  if not n then fail("unresolved cross-reference @" .. id .. ": no " .. (prefix == "fig" and "figure" or "table") .. " with that id") end
  if is_typst() then return pandoc.RawInline("typst", "@" .. id) end
  return pandoc.Link(label(prefix, n), "#" .. id)
end

local function Cite(c)
  local out = pandoc.List()
  for i, citation in ipairs(c.citations) do
    local ref = reference(citation.id)
    if not ref then return nil end
    if i > 1 then out:insert(pandoc.Str(", ")) end
    out:insert(ref)
  end
  return out
end

local function Span(s)
  if s.classes:includes("claim") or s.classes:includes("cited") then return s.content end
end

local function typst_call(name, content)
  local blocks = pandoc.List({ pandoc.RawBlock("typst", "#" .. name .. "[") })
  blocks:extend(content)
  blocks:insert(pandoc.RawBlock("typst", "]"))
  return blocks
end

local function Div(d)
  for _, cls in ipairs(d.classes) do
    if cls:match("^callout") then
      if is_typst() then return typst_call("callout", d.content) end
      d.classes:insert("callout")
      return d
    end
  end
  if d.classes:includes("interview") then
    if is_typst() then return typst_call("interview", d.content) end
    return d
  end
end

local function typst_string(s)
  return '"' .. s:gsub("\\", "\\\\"):gsub('"', '\\"'):gsub("\n", " ") .. '"'
end

local function Image(img)
  local alt = img.attributes["fig-alt"]
  if is_typst() then
    -- root-relative path (the Typst file is compiled with the repository as root) and alt text
    local src = img.src:gsub("^%.%./", "/")
    local args = typst_string(src) .. ", width: 100%"
    if alt then args = args .. ", alt: " .. typst_string(alt) end
    return pandoc.RawInline("typst", "#box(image(" .. args .. "))")
  end
  -- the DOCX shows the PNG (Word); the HTML shows the SVG, as a data: URI the render put in
  -- (belmig.report.render.inline_chart_images)
  if is_docx() and img.src:match("%.svg$") then img.src = img.src:gsub("%.svg$", ".png") end
  if alt then
    img.attributes["fig-alt"] = nil
    img.attributes["alt"] = alt
  end
  return img
end

local function Figure(f)
  -- HTML/DOCX: a visible number like Quarto's ("Chart 3: caption").
  if is_typst() or not numbers[f.identifier] then return nil end
  local lead = pandoc.Strong({ pandoc.Str(label("fig", numbers[f.identifier], true) .. ":") })
  if #f.caption.long > 0 then
    local first = f.caption.long[1]
    first.content:insert(1, pandoc.Space())
    first.content:insert(1, lead)
  end
  return f
end

-- Typst: code in a table cell (ledger keys, figure ids, conditions) is set at the table's size
-- and may break after "_" and "." (a zero-width space, not in the PDF's text); as one raw run
-- at the body's code size it ran into the next column.
local TABLE_CODE_SIZE = "7pt"

local function breakable_code(c)
  local parts = pandoc.List()
  for piece in c.text:gmatch("[^_%.]*[_%.]?") do
    if piece ~= "" then parts:insert("#raw(" .. typst_string(piece) .. ")") end
  end
  return pandoc.RawInline("typst",
    "#[#show raw: set text(size: " .. TABLE_CODE_SIZE .. ");" .. table.concat(parts, "#sym.zws") .. "]")
end

-- DOCX: a link to a file of the build (../notebooks/executed/…, the appendix's source column)
-- breaks once the document leaves the repository; its text stays, the link goes.
local function Link(l)
  if is_docx() and not l.target:match("^%a[%w+.-]*:") and not l.target:match("^#") then
    return l.content
  end
end

-- HTML: each body cell carries its column's header text (data-label), so that on a phone the
-- stylesheet can set a wide table as one card per row, "Header: value" per line, instead of
-- columns squeezed to a word or a page that scrolls sideways (report/style.css, @media).
local function label_cells(t)
  if FORMAT:match("html") == nil or #t.head.rows == 0 then return end
  local names = {}
  for j, c in ipairs(t.head.rows[#t.head.rows].cells) do
    names[j] = pandoc.utils.stringify(c.contents)
  end
  for _, body in ipairs(t.bodies) do
    for _, row in ipairs(body.body) do
      for j, c in ipairs(row.cells) do
        if names[j] and names[j] ~= "" then c.attributes["data-label"] = names[j] end
      end
    end
  end
end

local function Table(t)
  if is_typst() then
    return pandoc.walk_block(t, { Code = breakable_code })
  end
  label_cells(t)
  -- HTML/DOCX: "Table 3: caption" (Typst numbers its table figures itself).
  if not numbers[t.identifier] then return t end
  local lead = pandoc.Strong({ pandoc.Str(label("tbl", numbers[t.identifier], true) .. ":") })
  local long = t.caption.long
  if #long > 0 and (long[1].t == "Plain" or long[1].t == "Para") then
    long[1].content:insert(1, pandoc.Space())
    long[1].content:insert(1, lead)
  end
  return t
end

local elements = { Cite = Cite, Span = Span, Div = Div, Image = Image, Figure = Figure, Table = Table, Link = Link }

-- DOCX: the tables as the docx writer writes them, spliced in as raw OpenXML (the same
-- document.xml: tests/test_crossref_docx.py). All of a run's tables are written in one small
-- document, cut at comment marks; the render server's worker keeps each section's result, so a
-- text edit no longer writes the appendix's tables again (0.1 of the writer's 0.21 s). A table
-- is left to the writer when its XML refers to anything numbered across the document
-- (relationships: links and images; notes, bookmarks, lists, comments, drawings, fields).
-- Where the writer puts an empty paragraph between two tables (Word would merge them: pandoc's
-- separateTables, for Table blocks next to each other once raw blocks of other formats are
-- dropped), one is put here too. Only tables in a block list or a plain Div (no attributes
-- but an id and classes) are taken: anything else changes how the writer writes what is inside.
local CUT_MARK = "<!--belmig-docx-table-%d-->"
local NUMBERED = { "r:id=", "r:embed=", "r:link=", "r:pict=", "w:footnoteReference", "w:endnoteReference",
  "w:bookmarkStart", "w:numId", "w:commentReference", "wp:docPr", "w:fldChar", "w:fldSimple", "w:instrText" }

local function plain_div(b)
  return b.t == "Div" and #b.attributes == 0
end

local function foreign_raw(b)
  return b.t == "RawBlock" and b.format ~= "openxml"
end

local function each_table(blocks, f)
  for _, b in ipairs(blocks) do
    if b.t == "Table" then f(b) elseif plain_div(b) then each_table(b.content, f) end
  end
end

-- the document.xml body of `blocks` written alone, cut at the marks: one XML text per mark
local function written_alone(blocks, n)
  local bytes = pandoc.write(pandoc.Pandoc(blocks), "docx")
  local xml
  for _, e in ipairs(pandoc.zip.Archive(bytes).entries) do
    if e.path == "word/document.xml" then xml = e:contents() end
  end
  local body = xml and xml:match("<w:body>(.*)</w:body>")
  if not body then return nil end
  local parts, from = {}, 1
  for k = 1, n do
    local a, b = body:find(CUT_MARK:format(k), from, true)
    if not a then return nil end
    -- as the writer indents a body's elements: the whole document's lines are indented alike
    parts[k] = body:sub(from, a - 1):gsub("^%s+", ""):gsub("%s+$", ""):gsub("\n    ", "\n")
    from = b + 1
  end
  return parts
end

-- whether the writer's empty paragraph goes between a block of kind `last` and one of `kind`
-- (kinds of docx_tables below): two tables, unless both are left to the writer (it puts it)
local function separates(last, kind)
  return (kind == "raw" or kind == "table") and (last == "raw" or last == "table")
    and not (kind == "table" and last == "table")
end

-- `lists` (block lists) with their tables as raw OpenXML, and each list's first and last table
-- kind ("raw", "table", "other"; nil: only raw blocks of other formats), for lists joined later
local function docx_tables(lists)
  local wo = rawget(_G, "PANDOC_WRITER_OPTIONS")
  local tables = pandoc.Blocks({})
  for _, blocks in ipairs(lists) do
    each_table(blocks, function(t)
      local alone = t:clone()
      alone.identifier = ""  -- its bookmark is the Div's (below), numbered in the whole document
      tables:insert(alone)
      tables:insert(pandoc.RawBlock("openxml", CUT_MARK:format(#tables // 2 + 1)))
    end)
  end
  local xml = {}
  local n = #tables // 2
  if n > 0 and not (wo and wo.reference_doc) then
    xml = written_alone(tables, n) or {}
    for k, x in pairs(xml) do
      for _, s in ipairs(NUMBERED) do
        if x:find(s, 1, true) then xml[k] = false break end
      end
    end
  end
  local k = 0
  local function rebuild(blocks)
    local out, first, last = pandoc.Blocks({}), nil, nil
    for _, b in ipairs(blocks) do
      local kind, item = "other", b
      if b.t == "Table" then
        k = k + 1
        kind = "table"
        if xml[k] then
          kind = "raw"
          item = pandoc.RawBlock("openxml", xml[k])
          if b.identifier ~= "" then item = pandoc.Div({ item }, pandoc.Attr(b.identifier)) end
        end
      elseif plain_div(b) then
        local c = b:clone()
        c.content = rebuild(b.content)
        item = c
      elseif foreign_raw(b) then
        kind = nil
      end
      if kind then
        if separates(last, kind) then
          out:insert(pandoc.RawBlock("openxml", "<w:p />"))
        end
        first = first or kind
        last = kind
      end
      out:insert(item)
    end
    return out, first, last
  end
  local results = {}
  for i, blocks in ipairs(lists) do
    local out, first, last = rebuild(blocks)
    results[i] = { blocks = out, first = first, last = last }
  end
  return results
end

local function docx_document(doc)
  if not is_docx() then return nil end
  doc.blocks = docx_tables({ doc.blocks })[1].blocks
  return doc
end

if mode == "phases" then
  return {
    caption_ids = caption_ids, targets = targets, number = number, front = front, elements = elements,
    docx_tables = docx_tables, separates = separates,
  }
end
return {
  { Pandoc = number_elements },
  elements,
  { Pandoc = docx_document },
}
