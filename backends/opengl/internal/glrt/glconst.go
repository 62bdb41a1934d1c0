package glrt

// GL enums used by the runtime (values from Khronos glcorearb.h).
const (
	glVENDOR                                 = 0x1F00
	glRENDERER                               = 0x1F01
	glVERSION                                = 0x1F02
	glEXTENSIONS                             = 0x1F03
	glSHADING_LANGUAGE_VERSION               = 0x8B8C
	glNUM_EXTENSIONS                         = 0x821D
	glMAJOR_VERSION                          = 0x821B
	glMINOR_VERSION                          = 0x821C
	glCONTEXT_FLAGS                          = 0x821E
	glCONTEXT_FLAG_DEBUG_BIT                 = 0x2
	glCOMPUTE_SHADER                         = 0x91B9
	glCOMPILE_STATUS                         = 0x8B81
	glLINK_STATUS                            = 0x8B82
	glINFO_LOG_LENGTH                        = 0x8B84
	glCOMPUTE_WORK_GROUP_SIZE                = 0x8267
	glSHADER_STORAGE_BUFFER                  = 0x90D2
	glUNIFORM_BUFFER                         = 0x8A11
	glCOPY_READ_BUFFER                       = 0x8F36
	glCOPY_WRITE_BUFFER                      = 0x8F37
	glDYNAMIC_COPY                           = 0x88EA
	glDYNAMIC_DRAW                           = 0x88E8
	glSHADER_STORAGE_BUFFER_OFFSET_ALIGNMENT = 0x90DF
	glUNIFORM_BUFFER_OFFSET_ALIGNMENT        = 0x8A34
	glMAX_COMPUTE_SHARED_MEMORY_SIZE         = 0x8262
	glMAX_COMPUTE_WORK_GROUP_INVOCATIONS     = 0x90EB
	glMAX_COMPUTE_WORK_GROUP_SIZE            = 0x91BF
	glMAX_COMPUTE_WORK_GROUP_COUNT           = 0x91BE
	glMAX_SHADER_STORAGE_BLOCK_SIZE          = 0x90DE
	glMAX_UNIFORM_BLOCK_SIZE                 = 0x8A30
	glMAX_SHADER_STORAGE_BUFFER_BINDINGS     = 0x90DD
	glMAX_UNIFORM_BUFFER_BINDINGS            = 0x8A2F
	glMAX_COMPUTE_SHADER_STORAGE_BLOCKS      = 0x90DB
	glMAX_COMPUTE_UNIFORM_BLOCKS             = 0x91BB
	glSHADER_STORAGE_BLOCK                   = 0x92E6
	glUNIFORM_BLOCK                          = 0x92E2
	glACTIVE_RESOURCES                       = 0x92F5
	glBUFFER_BINDING                         = 0x9302
	glBUFFER_DATA_SIZE                       = 0x9303
	glTIME_ELAPSED                           = 0x88BF
	glTIMESTAMP                              = 0x8E28
	glQUERY_RESULT                           = 0x8866
	glQUERY_COUNTER_BITS                     = 0x8864
	glDEBUG_OUTPUT                           = 0x92E0
	glDEBUG_OUTPUT_SYNCHRONOUS               = 0x8242
	glDEBUG_TYPE_ERROR                       = 0x824C
	glMAX_DEBUG_MESSAGE_LENGTH               = 0x9143
	glNO_ERROR                               = 0
	glOUT_OF_MEMORY                          = 0x0505
	glCONTEXT_LOST                           = 0x0507

	// glMemoryBarrier bits.
	glUNIFORM_BARRIER_BIT        = 0x00000004
	glBUFFER_UPDATE_BARRIER_BIT  = 0x00000200
	glSHADER_STORAGE_BARRIER_BIT = 0x00002000
	glALL_BARRIER_BITS           = 0xFFFFFFFF
)
