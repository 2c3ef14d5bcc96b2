#include "common/config_reader.h"
#include <gtest/gtest.h>
