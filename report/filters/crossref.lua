-- Quarto-style cross-references and report blocks for plain pandoc (Typst and HTML).
--
-- Pandoc reads `@fig-x` as a citation; Quarto resolves it as a cross-reference. This filter
-- does what Quarto would: numbers figures (#fig-...) and tables (#tbl-...) in document order
-- and turns @fig-x / @tbl-x / @sec-x into clickable references. It also
--   * unwraps claim guards  [text]{.claim when="..."}  (checked in Python before rendering),
--   * renders  ::: {.interview}  blocks (paraphrased interview excerpts) and Quarto callouts,
--   * reads a table id from a caption ending in {#tbl-x} (Quarto syntax),
--   * uses PNG instead of SVG figures for HTML and DOCX.

local numbers = {}   -- id -> figure/table number
local headings = {}  -- id -> heading text
local kinds = { fig = "Chart", tbl = "Table" }  -- the 2022 report calls its figures "Chart N"

local function is_typst() return FORMAT:match("typst") ~= nil end

local function table_id_from_caption(tbl)
  local long = tbl.caption and tbl.caption.long
  if not long or #long == 0 then return end
  local last = long[#long]
  if last.t ~= "Plain" and last.t ~= "Para" then return end
  local text = pandoc.utils.stringify(last)
  local id = text:match("{#(tbl%-[%w_%-]+)}%s*$")
  if not id then return end
  -- drop the trailing "{#tbl-x}" inlines
  local inl = last.content
  while #inl > 0 do
    local s = pandoc.utils.stringify(inl[#inl])
    inl:remove(#inl)
    if s:match("^{#tbl%-") then break end
  end
  while #inl > 0 and (inl[#inl].t == "Space" or inl[#inl].t == "SoftBreak") do inl:remove(#inl) end
  tbl.identifier = id
end

local function number_elements(doc)
  local fig, tbl = 0, 0
  doc.blocks = doc.blocks:walk({
    Table = function(t)
      if t.identifier == "" then table_id_from_caption(t) end
      return t
    end,
  })
  doc.blocks:walk({
    Figure = function(f)
      if f.identifier:match("^fig%-") then fig = fig + 1; numbers[f.identifier] = fig end
    end,
    Table = function(t)
      if t.identifier:match("^tbl%-") then tbl = tbl + 1; numbers[t.identifier] = tbl end
    end,
    Header = function(h)
      if h.identifier ~= "" then headings[h.identifier] = pandoc.utils.stringify(h.content) end
    end,
  })
  return doc
end

local function reference(id)
  local prefix = id:match("^(%a+)%-")
  if not prefix or not (kinds[prefix] or prefix == "sec") then return nil end
  if prefix == "sec" then
    local title = headings[id]
    if not title then error("unresolved cross-reference @" .. id .. ": no section with that id") end
    if is_typst() then
      return pandoc.RawInline("typst", "#link(<" .. id .. ">)[" .. title:gsub("([%[%]#*_])", "\\%1") .. "]")
    end
    return pandoc.Link(title, "#" .. id)
  end
  local n = numbers[id]
  if not n then error("unresolved cross-reference @" .. id .. ": no " .. kinds[prefix]:lower() .. " with that id") end
  if is_typst() then return pandoc.RawInline("typst", "@" .. id) end
  return pandoc.Link(kinds[prefix] .. "\u{A0}" .. n, "#" .. id)
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
  if s.classes:includes("claim") then return s.content end
end

-- Wrap a Div's blocks in a call of a function defined in report/template.typ.
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

local function Image(img)
  if not is_typst() and img.src:match("%.svg$") then
    img.src = img.src:gsub("%.svg$", ".png")
    return img
  end
end

local function Figure(f)
  -- HTML: give figures a visible number like Quarto does ("Figure 3: caption").
  if is_typst() or not numbers[f.identifier] then return nil end
  local lead = pandoc.Strong({ pandoc.Str(kinds.fig .. "\u{A0}" .. numbers[f.identifier] .. ":") })
  if #f.caption.long > 0 then
    local first = f.caption.long[1]
    first.content:insert(1, pandoc.Space())
    first.content:insert(1, lead)
  end
  return f
end

return {
  { Pandoc = number_elements },
  { Cite = Cite, Span = Span, Div = Div, Image = Image, Figure = Figure },
}
