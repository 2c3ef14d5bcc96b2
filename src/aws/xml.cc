#include "aws/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace spirecvm::aws {
namespace {

constexpr int kMaxDepth = 64;
constexpr size_t kMaxElements = 100000;

struct DocDeleter {
  void operator()(xmlDoc* d) const noexcept { xmlFreeDoc(d); }
};

absl::Status Convert(const xmlNode* node, XmlElement& out, int depth, size_t& count) {
  if (depth > kMaxDepth) return absl::InvalidArgumentError("XML is nested more than 64 levels deep");
  if (++count > kMaxElements) return absl::InvalidArgumentError("XML has more than 100000 elements");
  out.name = reinterpret_cast<const char*>(node->name);
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      if (c->content != nullptr) out.text += reinterpret_cast<const char*>(c->content);
    } else if (c->type == XML_ELEMENT_NODE) {
      out.children.emplace_back();
      if (auto st = Convert(c, out.children.back(), depth + 1, count); !st.ok()) return st;
    }
  }
  absl::StripAsciiWhitespace(&out.text);
  return absl::OkStatus();
}

}  // namespace

const XmlElement* XmlElement::Child(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

std::string XmlElement::ChildText(std::string_view n) const {
  const XmlElement* c = Child(n);
  return c == nullptr ? "" : c->text;
}

const XmlElement* XmlElement::Path(std::string_view path) const {
  const XmlElement* at = this;
  while (at != nullptr) {
    const size_t slash = path.find('/');
    at = at->Child(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return at;
}

std::vector<const XmlElement*> XmlElement::Children(std::string_view n) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children) {
    if (c.name == n) out.push_back(&c);
  }
  return out;
}

const XmlElement* XmlElement::Find(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
    if (const XmlElement* f = c.Find(n)) return f;
  }
  return nullptr;
}

absl::StatusOr<XmlElement> ParseXml(std::string_view doc, size_t max_bytes) {
  if (doc.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("XML response is ", doc.size(), " bytes, over the limit"));
  }
  // No network, no DTD loading, no entity substitution (XML_PARSE_NOENT unset), no huge-document mode.
  std::unique_ptr<xmlDoc, DocDeleter> d(xmlReadMemory(doc.data(), static_cast<int>(doc.size()), "aws.xml", nullptr,
                                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (d == nullptr) return absl::InvalidArgumentError("response is not well-formed XML");
  const xmlNode* root = xmlDocGetRootElement(d.get());
  if (root == nullptr) return absl::InvalidArgumentError("XML response has no root element");
  XmlElement out;
  size_t count = 0;
  if (auto st = Convert(root, out, 0, count); !st.ok()) return st;
  return out;
}

}  // namespace spirecvm::aws
