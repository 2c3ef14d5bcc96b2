#include "common/files.h"
#include <gtest/gtest.h>
