#include "tapegrad/interop/hdf5_image.h"

#include <hdf5.h>

#include <algorithm>
#include <type_traits>

#include "tapegrad/autodiff/error.h"

namespace interop {

static_assert(std::is_same_v<hid_t, int64_t>, "Hdf5Reader/Writer keep an hid_t as int64_t");

namespace {

// More stored bytes than this many times fewer than the shape needs is refused.
constexpr uint64_t kMaxExpansion = 100;
constexpr size_t kGrowBy = size_t{1} << 16;

// One HDF5 identifier, closed by its own close function.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its error stack to stderr by default; our errors say what went wrong instead. The
// printing is switched off only while our calls run, and restored for other users of HDF5.
class QuietErrors {
 public:
  QuietErrors() {
    H5Eget_auto2(H5E_DEFAULT, &function_, &data_);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, function_, data_); }
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t function_ = nullptr;
  void* data_ = nullptr;
};

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = std::min(path.find('/', begin), path.size());
    if (end > begin) parts.push_back(path.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

}  // namespace

Hdf5Reader::Hdf5Reader(const std::string& bytes, std::string label) : label_(std::move(label)) {
  QuietErrors quiet;
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  TG_CHECK(access.valid() && H5Pset_fapl_core(access.get(), kGrowBy, 0) >= 0 &&
               H5Pset_file_image(access.get(), const_cast<char*>(bytes.data()), bytes.size()) >= 0,
           "Hdf5Reader: '{}': cannot set up HDF5's in-memory driver", label_);
  file_ = H5Fopen(label_.c_str(), H5F_ACC_RDONLY, access.get());
  TG_CHECK(file_ >= 0, "Hdf5Reader: '{}' ({} bytes) is not a readable HDF5 file", label_, bytes.size());
}

Hdf5Reader::~Hdf5Reader() {
  if (file_ >= 0) H5Fclose(file_);
}

bool Hdf5Reader::contains(const std::string& path) const {
  QuietErrors quiet;
  std::string prefix;
  for (const std::string& part : split_path(path)) {
    prefix += (prefix.empty() ? "" : "/") + part;
    if (H5Lexists(file_, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

std::vector<std::string> Hdf5Reader::members(const std::string& path) const {
  QuietErrors quiet;
  std::vector<std::string> names;
  if (!contains(path)) return names;
  Handle group(H5Gopen2(file_, path.c_str(), H5P_DEFAULT), H5Gclose);
  if (!group.valid()) return names;
  H5G_info_t info;
  if (H5Gget_info(group.get(), &info) < 0) return names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    ssize_t length = H5Lget_name_by_idx(group.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0) continue;
    std::string name(static_cast<size_t>(length) + 1, '\0');
    H5Lget_name_by_idx(group.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<size_t>(length));
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

ad::Tensor Hdf5Reader::read_floats(const std::string& path, const ad::Shape& expected) const {
  QuietErrors quiet;
  TG_CHECK(contains(path), "Hdf5Reader: '{}': no dataset '{}'", label_, path);
  Handle dataset(H5Dopen2(file_, path.c_str(), H5P_DEFAULT), H5Dclose);
  TG_CHECK(dataset.valid(), "Hdf5Reader: '{}': '{}' is not a dataset", label_, path);
  Handle type(H5Dget_type(dataset.get()), H5Tclose);
  size_t type_size = type.valid() ? H5Tget_size(type.get()) : 0;
  TG_CHECK(type.valid() && H5Tget_class(type.get()) == H5T_FLOAT && (type_size == 4 || type_size == 8),
           "Hdf5Reader: '{}': dataset '{}' holds {}-byte {} values; float32 and float64 are read", label_, path,
           type_size, type.valid() && H5Tget_class(type.get()) == H5T_FLOAT ? "float" : "non-float");
  Handle space(H5Dget_space(dataset.get()), H5Sclose);
  int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  TG_CHECK(rank >= 0 && rank <= 32, "Hdf5Reader: '{}': dataset '{}' has no simple shape", label_, path);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  ad::Shape shape(dims.begin(), dims.end());
  TG_CHECK(shape == expected, "Hdf5Reader: '{}': dataset '{}' has shape {}, the model needs {}", label_, path,
           ad::to_string(shape), ad::to_string(expected));
  uint64_t count = 1;
  for (int64_t d : expected) count *= static_cast<uint64_t>(d);
  uint64_t stored = H5Dget_storage_size(dataset.get());
  TG_CHECK(count == 0 || stored * kMaxExpansion >= count * type_size,
           "Hdf5Reader: '{}': dataset '{}' of shape {} needs {} bytes but stores {}", label_, path,
           ad::to_string(shape), count * type_size, stored);
  ad::Tensor values = ad::Tensor::empty(expected);
  TG_CHECK(count == 0 || H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
           "Hdf5Reader: '{}': cannot read dataset '{}' (corrupt data)", label_, path);
  return values;
}

Hdf5Writer::Hdf5Writer() {
  QuietErrors quiet;
  Handle access(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  TG_CHECK(access.valid() && H5Pset_fapl_core(access.get(), kGrowBy, 0) >= 0,
           "Hdf5Writer: cannot set up HDF5's in-memory driver");
  file_ = H5Fcreate("model.weights.h5", H5F_ACC_TRUNC, H5P_DEFAULT, access.get());
  TG_CHECK(file_ >= 0, "Hdf5Writer: cannot create an in-memory HDF5 file");
}

Hdf5Writer::~Hdf5Writer() {
  if (file_ >= 0) H5Fclose(file_);
}

void Hdf5Writer::group(const std::string& path, const std::string& name) {
  QuietErrors quiet;
  TG_CHECK(file_ >= 0, "Hdf5Writer::group: the file is already finished");
  Handle links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(links.get(), 1);
  Handle group(H5Gcreate2(file_, path.c_str(), links.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  TG_CHECK(group.valid(), "Hdf5Writer::group: cannot create group '{}'", path);
  Handle text(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(text.get(), H5T_VARIABLE);
  H5Tset_cset(text.get(), H5T_CSET_UTF8);
  Handle scalar(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attribute(H5Acreate2(group.get(), "name", text.get(), scalar.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* value = name.c_str();
  TG_CHECK(attribute.valid() && H5Awrite(attribute.get(), text.get(), &value) >= 0,
           "Hdf5Writer::group: cannot write the name of group '{}'", path);
}

void Hdf5Writer::write_floats(const std::string& path, const ad::Tensor& values) {
  QuietErrors quiet;
  TG_CHECK(file_ >= 0, "Hdf5Writer::write_floats: the file is already finished");
  std::vector<hsize_t> dims(values.shape().begin(), values.shape().end());
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  Handle dataset(H5Dcreate2(file_, path.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
  TG_CHECK(dataset.valid(), "Hdf5Writer::write_floats: cannot create dataset '{}' of shape {}", path,
           ad::to_string(values.shape()));
  TG_CHECK(values.size() == 0 ||
               H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0,
           "Hdf5Writer::write_floats: cannot write dataset '{}'", path);
}

std::string Hdf5Writer::finish() {
  QuietErrors quiet;
  TG_CHECK(file_ >= 0, "Hdf5Writer::finish: the file is already finished");
  TG_CHECK(H5Fflush(file_, H5F_SCOPE_GLOBAL) >= 0, "Hdf5Writer::finish: cannot flush the file");
  ssize_t size = H5Fget_file_image(file_, nullptr, 0);
  TG_CHECK(size > 0, "Hdf5Writer::finish: cannot take the file's image");
  std::string bytes(static_cast<size_t>(size), '\0');
  TG_CHECK(H5Fget_file_image(file_, bytes.data(), bytes.size()) == size, "Hdf5Writer::finish: the image changed size");
  H5Fclose(file_);
  file_ = -1;
  return bytes;
}

}  // namespace interop
