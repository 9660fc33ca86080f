#include "report/http/PrometheusHistogram.h"

#include <cstdint>

namespace bccsink::report {

void histogramSamples(PrometheusText& text, const std::string& name, const std::string& labels,
                      const HistogramSnapshot& h) {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < h.counts.size(); ++b) {
    cumulative += h.counts[b];
    const auto le = b < h.bounds.size() ? PrometheusText::number(h.bounds[b]) : "+Inf";
    text.sample(name + "_bucket", labels + sep + "le=\"" + le + "\"", cumulative);
  }
  text.sample(name + "_sum", labels, PrometheusText::number(h.sum));
  text.sample(name + "_count", labels, cumulative);
}

}  // namespace bccsink::report
