#include "common/config_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/duration.h"
#include "common/strings.h"

namespace spirecvm::config {

struct Section::Node {
  const hcl::Body* body = nullptr;     // exactly one of body/object is set
  const hcl::Value* object = nullptr;  // kObject
  std::string path;
  Position pos;
  std::set<std::string, std::less<>> known;
};

struct Section::Shared {
  std::string filename;
  struct Error {
    Position pos;
    size_t seq;
    std::string message;
  };
  std::vector<Error> errors;
  std::vector<std::shared_ptr<Node>> nodes;  // every section of the tree, for unknown-key detection
};

namespace {

std::string JoinPath(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(ToAbsl(parent), ".", ToAbsl(key));
}

std::string Quote(std::string_view s) { return absl::StrCat("\"", ToAbsl(s), "\""); }

hcl::Value BodyToValue(const hcl::Body& body, Position pos);

// A block `type "a" "b" { ... }` becomes type = { a = { b = {...} } }: the shape HCL1 decodes into maps.
void AddBlockToObject(hcl::Value& obj, const hcl::Block& b) {
  hcl::Value inner = BodyToValue(*b.body, b.pos);
  for (auto it = b.labels.rbegin(); it != b.labels.rend(); ++it) {
    hcl::Value wrap;
    wrap.kind = hcl::Value::Kind::kObject;
    wrap.pos = b.pos;
    wrap.object.emplace_back(*it, std::move(inner));
    inner = std::move(wrap);
  }
  obj.object.emplace_back(b.type, std::move(inner));
}

hcl::Value BodyToValue(const hcl::Body& body, Position pos) {
  hcl::Value v;
  v.kind = hcl::Value::Kind::kObject;
  v.pos = pos;
  for (const auto& a : body.attributes) v.object.emplace_back(a.name, a.value);
  for (const auto& b : body.blocks) AddBlockToObject(v, b);
  return v;
}

}  // namespace

Section Section::Make(std::shared_ptr<Shared> shared, const hcl::Body* body, const hcl::Value* object, std::string path,
                      Position pos) {
  // Reading the same block twice must share one known-key set, or keys read through the first Section would be
  // reported unknown through the second.
  for (const auto& n : shared->nodes) {
    if (n->body == body && n->object == object) return Section(std::move(shared), n);
  }
  auto node = std::make_shared<Node>();
  node->body = body;
  node->object = object;
  node->path = std::move(path);
  node->pos = pos;
  shared->nodes.push_back(node);
  return Section(std::move(shared), std::move(node));
}

Section Section::MakeChild(const hcl::Body* body, const hcl::Value* object, std::string path, Position pos) const {
  return Make(shared_, body, object, std::move(path), pos);
}

Section Section::FromBody(const hcl::Body& body, std::string path, std::string filename) {
  auto shared = std::make_shared<Shared>();
  shared->filename = std::move(filename);
  return Make(std::move(shared), &body, nullptr, std::move(path), Position{});
}

Section Section::FromObject(const hcl::Value& object, std::string path, std::string filename) {
  auto shared = std::make_shared<Shared>();
  shared->filename = std::move(filename);
  Section s = Make(std::move(shared), nullptr, &object, std::move(path), object.pos);
  if (object.kind != hcl::Value::Kind::kObject) {
    s.AddError(object.pos, absl::StrCat("want an object, got ", ToAbsl(hcl::KindName(object.kind))));
  }
  return s;
}

const std::string& Section::path() const { return node_->path; }
const std::string& Section::filename() const { return shared_->filename; }
Position Section::pos() const { return node_->pos; }

namespace {

// Occurrences of `key` in a section: attributes/object entries and blocks, in source order.
struct Entry {
  const hcl::Value* value = nullptr;  // attribute or object entry
  const hcl::Block* block = nullptr;
  Position pos;
};

std::vector<Entry> Find(const hcl::Body* body, const hcl::Value* object, std::string_view key) {
  std::vector<Entry> out;
  if (body) {
    for (const auto& a : body->attributes) {
      if (a.name == key) out.push_back({&a.value, nullptr, a.pos});
    }
    for (const auto& b : body->blocks) {
      if (b.type == key) out.push_back({nullptr, &b, b.pos});
    }
  } else if (object && object->kind == hcl::Value::Kind::kObject) {
    for (const auto& [k, v] : object->object) {
      if (k == key) out.push_back({&v, nullptr, v.pos});
    }
  }
  // JSON's null (an empty YAML key in SPIRE's Helm chart) reads as absent; Keys() still lists it, so an unknown key
  // set to null is reported all the same.
  std::erase_if(out, [](const Entry& e) { return e.value != nullptr && e.value->kind == hcl::Value::Kind::kNull; });
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  return out;
}

// HCL1 (and so SPIRE) reads a list of objects as repeated blocks: the JSON form of `a { } a { }` is
// `"a": [{...}, {...}]`. An empty list is no block at all.
std::vector<Entry> ExpandObjectLists(std::vector<Entry> entries) {
  std::vector<Entry> out;
  for (const Entry& e : entries) {
    const hcl::Value* v = e.value;
    bool objects = v != nullptr && v->kind == hcl::Value::Kind::kList &&
                   std::all_of(v->list.begin(), v->list.end(),
                               [](const hcl::Value& item) { return item.kind == hcl::Value::Kind::kObject; });
    if (!objects) {
      out.push_back(e);
      continue;
    }
    for (const hcl::Value& item : v->list) out.push_back({&item, nullptr, item.pos});
  }
  return out;
}

}  // namespace

bool Section::Has(std::string_view key) const { return !Find(node_->body, node_->object, key).empty(); }

Position Section::PosOf(std::string_view key) const {
  auto e = Find(node_->body, node_->object, key);
  return e.empty() ? node_->pos : e.front().pos;
}

std::string Section::Where(Position pos) const {
  return absl::StrCat(shared_->filename, ":", pos.line, ":", pos.column);
}

void Section::MarkKnown(std::string_view key) { node_->known.emplace(key); }

void Section::AddError(Position pos, std::string message) {
  std::string msg = node_->path.empty() ? absl::StrCat(Where(pos), ": ", message)
                                        : absl::StrCat(Where(pos), ": ", node_->path, ": ", message);
  shared_->errors.push_back({pos, shared_->errors.size(), std::move(msg)});
}

void Section::AddKeyError(std::string_view key, std::string message) {
  Position pos = PosOf(key);
  shared_->errors.push_back(
      {pos, shared_->errors.size(), absl::StrCat(Where(pos), ": ", JoinPath(node_->path, key), ": ", message)});
}

const hcl::Value* Section::Single(std::string_view key, std::string_view want) {
  MarkKnown(key);
  auto entries = Find(node_->body, node_->object, key);
  if (entries.empty()) return nullptr;
  if (entries.front().block != nullptr) {
    AddKeyErrorAt(key, entries.front().pos, absl::StrCat("want ", ToAbsl(want), ", got a block"));
    return nullptr;
  }
  return entries.front().value;
}

void Section::AddKeyErrorAt(std::string_view key, Position pos, std::string message) {
  shared_->errors.push_back(
      {pos, shared_->errors.size(), absl::StrCat(Where(pos), ": ", JoinPath(node_->path, key), ": ", message)});
}

void Section::TypeError(std::string_view key, const hcl::Value& v, std::string_view want) {
  AddKeyErrorAt(key, v.pos, absl::StrCat("want ", ToAbsl(want), ", got ", ToAbsl(hcl::KindName(v.kind))));
}

std::optional<std::string> Section::String(std::string_view key) {
  const hcl::Value* v = Single(key, "a string");
  if (v == nullptr) return std::nullopt;
  if (v->kind != hcl::Value::Kind::kString) {
    TypeError(key, *v, "a string");
    return std::nullopt;
  }
  return v->str;
}

std::optional<int64_t> Section::Int(std::string_view key) {
  const hcl::Value* v = Single(key, "a number");
  if (v == nullptr) return std::nullopt;
  std::string_view text;
  if (v->kind == hcl::Value::Kind::kNumber) {
    text = v->number_text;
  } else if (v->kind == hcl::Value::Kind::kString) {
    // HCL1 (SPIRE) decodes a quoted integer into an int field; SPIRE's own example config writes
    // bind_port = "8081", so we accept it.
    text = v->str;
  } else {
    TypeError(key, *v, "a number");
    return std::nullopt;
  }
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec == std::errc::result_out_of_range) {
    AddKeyErrorAt(key, v->pos, absl::StrCat("integer ", ToAbsl(text), " is out of range"));
    return std::nullopt;
  }
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    if (v->kind == hcl::Value::Kind::kString) {
      AddKeyErrorAt(key, v->pos, absl::StrCat("want a number, got string ", Quote(v->str)));
    } else {
      AddKeyErrorAt(key, v->pos, absl::StrCat("want an integer, got ", ToAbsl(text)));
    }
    return std::nullopt;
  }
  return out;
}

std::optional<bool> Section::Bool(std::string_view key) {
  const hcl::Value* v = Single(key, "a bool");
  if (v == nullptr) return std::nullopt;
  if (v->kind != hcl::Value::Kind::kBool) {
    TypeError(key, *v, "a bool (true or false)");
    return std::nullopt;
  }
  return v->boolean;
}

std::optional<absl::Duration> Section::Duration(std::string_view key) {
  const hcl::Value* v = Single(key, "a duration string");
  if (v == nullptr) return std::nullopt;
  if (v->kind != hcl::Value::Kind::kString) {
    TypeError(key, *v, "a duration string such as \"1h30m\"");
    return std::nullopt;
  }
  auto d = ParseGoDuration(v->str);
  if (!d.ok()) {
    AddKeyErrorAt(key, v->pos, std::string(d.status().message()));
    return std::nullopt;
  }
  return *d;
}

std::optional<std::vector<std::string>> Section::StringList(std::string_view key) {
  const hcl::Value* v = Single(key, "a list of strings");
  if (v == nullptr) return std::nullopt;
  if (v->kind != hcl::Value::Kind::kList) {
    TypeError(key, *v, "a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  for (size_t i = 0; i < v->list.size(); ++i) {
    const auto& item = v->list[i];
    if (item.kind != hcl::Value::Kind::kString) {
      AddKeyErrorAt(key, item.pos,
                    absl::StrCat("element ", i, ": want a string, got ", ToAbsl(hcl::KindName(item.kind))));
      ok = false;
      continue;
    }
    out.push_back(item.str);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<Section> Section::Child(std::string_view key) {
  MarkKnown(key);
  auto entries = ExpandObjectLists(Find(node_->body, node_->object, key));
  if (entries.empty()) return std::nullopt;
  if (entries.size() > 1) {
    AddKeyErrorAt(
        key, entries[1].pos,
        absl::StrCat("given more than once (first at ", entries[0].pos.line, ":", entries[0].pos.column, ")"));
    return std::nullopt;
  }
  const Entry& e = entries.front();
  std::string path = JoinPath(node_->path, key);
  if (e.block != nullptr) {
    if (!e.block->labels.empty()) {
      AddKeyErrorAt(key, e.pos, absl::StrCat("block takes no labels, got ", Quote(e.block->labels.front())));
      return std::nullopt;
    }
    return MakeChild(e.block->body.get(), nullptr, std::move(path), e.pos);
  }
  if (e.value->kind != hcl::Value::Kind::kObject) {
    TypeError(key, *e.value, "a block or object");
    return std::nullopt;
  }
  return MakeChild(nullptr, e.value, std::move(path), e.pos);
}

namespace {

// One block-like member of a container being read as labels: a block, an object value or an object in a list.
struct Nested {
  std::string name;
  const hcl::Body* body = nullptr;
  const hcl::Value* object = nullptr;
  std::vector<std::string> labels;  // a block's own labels, after `name`
  Position pos;
};

// The members of a container when every one is block-like (so its keys can be read as labels), else nullopt.
std::optional<std::vector<Nested>> NestedMembers(const hcl::Body* body, const hcl::Value* object) {
  std::vector<Nested> out;
  auto add_value = [&out](const std::string& name, const hcl::Value& v) {
    if (v.kind == hcl::Value::Kind::kObject) {
      out.push_back({name, nullptr, &v, {}, v.pos});
      return true;
    }
    if (v.kind != hcl::Value::Kind::kList || v.list.empty()) return false;
    for (const hcl::Value& item : v.list) {
      if (item.kind != hcl::Value::Kind::kObject) return false;
      out.push_back({name, nullptr, &item, {}, item.pos});
    }
    return true;
  };
  if (body != nullptr) {
    for (const auto& a : body->attributes) {
      if (!add_value(a.name, a.value)) return std::nullopt;
    }
    for (const auto& b : body->blocks) out.push_back({b.type, b.body.get(), nullptr, b.labels, b.pos});
  } else if (object != nullptr && object->kind == hcl::Value::Kind::kObject) {
    for (const auto& [k, v] : object->object) {
      if (!add_value(k, v)) return std::nullopt;
    }
  }
  if (out.empty()) return std::nullopt;
  std::stable_sort(out.begin(), out.end(), [](const Nested& a, const Nested& b) {
    return std::tie(a.pos.line, a.pos.column) < std::tie(b.pos.line, b.pos.column);
  });
  return out;
}

}  // namespace

void Section::CollectLabeled(const hcl::Body* body, const hcl::Value* object, std::vector<std::string> labels,
                             const std::string& base, Position pos, size_t want, LabeledBlocks& out) const {
  std::optional<std::vector<Nested>> nested;
  if (labels.size() < want) nested = NestedMembers(body, object);
  if (!nested) {
    std::string path = base;
    for (const auto& l : labels) absl::StrAppend(&path, " ", Quote(l));
    out.emplace_back(labels, MakeChild(body, object, std::move(path), pos));
    return;
  }
  for (Nested& n : *nested) {
    std::vector<std::string> more = labels;
    more.push_back(std::move(n.name));
    more.insert(more.end(), n.labels.begin(), n.labels.end());
    CollectLabeled(n.body, n.object, std::move(more), base, n.pos, want, out);
  }
}

Section::LabeledBlocks Section::Blocks(std::string_view key, size_t labels) {
  MarkKnown(key);
  LabeledBlocks out;
  const std::string base = JoinPath(node_->path, key);
  for (const Entry& e : ExpandObjectLists(Find(node_->body, node_->object, key))) {
    if (e.block != nullptr) {
      CollectLabeled(e.block->body.get(), nullptr, e.block->labels, base, e.pos, labels, out);
    } else if (e.value->kind == hcl::Value::Kind::kObject) {
      CollectLabeled(nullptr, e.value, {}, base, e.pos, labels, out);
    } else {
      TypeError(key, *e.value, "a block");
    }
  }
  return out;
}

std::optional<hcl::Value> Section::Raw(std::string_view key) {
  MarkKnown(key);
  auto entries = Find(node_->body, node_->object, key);
  if (entries.empty()) return std::nullopt;
  if (entries.size() == 1) {
    const Entry& e = entries.front();
    if (e.value != nullptr) return *e.value;
    hcl::Value obj;
    obj.kind = hcl::Value::Kind::kObject;
    obj.pos = e.pos;
    AddBlockToObject(obj, *e.block);
    return std::move(obj.object.front().value);
  }
  // Repeated blocks come back as a list of their (synthesized) objects.
  hcl::Value list;
  list.kind = hcl::Value::Kind::kList;
  list.pos = entries.front().pos;
  for (const Entry& e : entries) {
    if (e.value != nullptr) {
      list.list.push_back(*e.value);
      continue;
    }
    hcl::Value obj;
    obj.kind = hcl::Value::Kind::kObject;
    AddBlockToObject(obj, *e.block);
    list.list.push_back(std::move(obj.object.front().value));
  }
  return list;
}

std::vector<std::string> Section::Keys() const {
  std::vector<std::pair<Position, std::string>> all;
  if (node_->body) {
    for (const auto& a : node_->body->attributes) all.emplace_back(a.pos, a.name);
    for (const auto& b : node_->body->blocks) all.emplace_back(b.pos, b.type);
  } else if (node_->object && node_->object->kind == hcl::Value::Kind::kObject) {
    for (const auto& [k, v] : node_->object->object) all.emplace_back(v.pos, k);
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.line, a.first.column) < std::tie(b.first.line, b.first.column);
  });
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto& [pos, k] : all) {
    if (seen.insert(k).second) out.push_back(std::move(k));
  }
  return out;
}

absl::Status Section::Finish() {
  std::vector<Shared::Error> all = shared_->errors;
  size_t seq = all.size();
  for (const auto& node : shared_->nodes) {
    Section s(shared_, node);
    for (const auto& key : s.Keys()) {
      if (node->known.count(key) != 0) continue;
      Position p = s.PosOf(key);
      std::string where = node->path.empty() ? "at top level" : absl::StrCat("in ", node->path);
      all.push_back({p, seq++, absl::StrCat("unknown key ", Quote(key), " ", where, " (", Where(p), ")")});
    }
  }
  if (all.empty()) return absl::OkStatus();
  // Source order reads best: the operator walks the file top to bottom fixing things.
  std::sort(all.begin(), all.end(), [](const Shared::Error& a, const Shared::Error& b) {
    return std::tie(a.pos.line, a.pos.column, a.seq) < std::tie(b.pos.line, b.pos.column, b.seq);
  });
  std::vector<std::string> lines;
  std::set<std::string> dedup;  // the same child may be created twice (Child called twice)
  for (auto& e : all) {
    if (dedup.insert(e.message).second) lines.push_back(std::move(e.message));
  }
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace spirecvm::config
